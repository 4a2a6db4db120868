"""Which task a worker gets next, and whether it may keep running one.

Both run under the Manager's scheduler lock and in one transaction, so two
workers asking at once can never receive the same task.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import events
from ..db import scheduling
from ..db import tasks as task_db
from ..db import workers as worker_db
from ..errors import ManagerError
from ..state_machine.apply import change_task_status

if TYPE_CHECKING:
    from ..context import Manager

LONG_POLL_MAX_S = 60  # a held request never outlives the Worker's 120 s read timeout


@dataclass(frozen=True)
class StatusChangeRequested:
    """The worker must change status before it gets work (the API answers 423)."""

    status: str


def assign_task(manager: Manager, worker_id: int) -> dict[str, Any] | StatusChangeRequested | None:
    """AssignedTask for the worker, the status it must change to first, or None."""
    with manager.scheduler_lock, manager.change() as (conn, changes):
        worker, tags, active_task_id = scheduling.worker_for_pick(conn, worker_id)
        if worker["status_requested"]:
            return StatusChangeRequested(worker["status_requested"])
        if worker["status"] != "awake":
            raise ManagerError(409, f'worker is in status "{worker["status"] or "registered"}", '
                                'it must be awake to get tasks')
        if active_task_id is not None:
            task = task_db.fetch_by_id(conn, active_task_id)
        else:
            picked = manager.metrics.time_pick()
            task = scheduling.pick_task(conn, worker_id, worker_db.split_types(worker["supported_task_types"]), tags)
            picked()
            if task is None:
                return None
            manager.metrics.task_dispatches.inc()
            changes.log(task["job_uuid"], task["uuid"],
                        f"task assigned to worker {worker['name']} ({worker['uuid']})")
            task = change_task_status(conn, changes, task, "active", assign_to=worker,
                                      job_status=task["job_status"])  # read just now
            events.worker_updated(changes, worker)  # the row read above: an assignment does not change it
    return _assigned_task(manager, task, worker)


def assign_or_wait(manager: Manager, worker: sqlite3.Row, wait_s: int,
                   watch_hangup: Callable[[Callable[[], None]], Callable[[], None]] | None = None,
                   ) -> dict[str, Any] | StatusChangeRequested | None:
    """`assign_task`, but with nothing to do, hold on up to `wait_s` seconds (long-poll).

    The request is woken when work may have become runnable or a status
    change is requested for this Worker (see `wakeups.py`); None when the time
    is up, the client hangs up (`watch_hangup` tells) or the Manager shuts down.
    """
    def pick() -> dict[str, Any] | StatusChangeRequested | None:
        return assign_task(manager, worker["id"])

    wait_s = min(wait_s, LONG_POLL_MAX_S)
    if wait_s <= 0:
        return pick()
    hung_up = []

    def on_hangup() -> None:
        hung_up.append(True)
        manager.waiters.release(worker["uuid"])

    stop_watching = watch_hangup(on_hangup) if watch_hangup else (lambda: None)
    try:
        return manager.waiters.wait(worker["uuid"], wait_s, pick, cancelled=lambda: bool(hung_up))
    finally:
        stop_watching()


def _assigned_task(manager: Manager, task: Mapping[str, Any], worker: sqlite3.Row) -> dict[str, Any]:
    commands = manager.variables.expand_for_worker(json.loads(task["commands"]), worker["platform"])
    return {
        "uuid": task["uuid"],
        "job": task["job_uuid"],
        "name": task["name"],
        "status": task["status"],
        "priority": task["priority"],
        "job_priority": task["job_priority"],
        "job_type": task["job_type"],
        "task_type": task["type"],
        "commands": commands,
        "steps_completed": task["steps_completed"],
        "steps_total": task["steps_total"],
    }


def may_keep_running(manager: Manager, worker_id: int, task_uuid: str) -> dict[str, Any]:
    with manager.scheduler_lock, manager.db.tx() as conn:
        worker = worker_db.fetch_by_id(conn, worker_id)
        task = task_db.fetch_by_uuid(conn, task_uuid)
        if task is None:
            return {"mayKeepRunning": False, "reason": "Task not found", "statusChangeRequested": False}
        if worker["status_requested"] and not worker["lazy_status_request"]:
            return {"mayKeepRunning": False, "reason": "worker status change requested",
                    "statusChangeRequested": True}
        if task["worker_id"] != worker_id:
            return {"mayKeepRunning": False, "reason": "task not assigned to this worker",
                    "statusChangeRequested": False}
        if task["status"] != "active":
            return {"mayKeepRunning": False, "reason": f'task is in non-runnable status "{task["status"]}"',
                    "statusChangeRequested": False}
        task_db.touch(conn, task["id"])
    return {"mayKeepRunning": True, "reason": "", "statusChangeRequested": False}
