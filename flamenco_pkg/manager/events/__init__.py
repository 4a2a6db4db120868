"""The one place that turns changes into live-update events and log lines.

Code that changes state records what happened on the transaction's `Changes`;
the Manager writes the log lines and publishes the events only after the
transaction commits, so a rolled-back request leaves no trace. Publishing
only queues: `broker.py` delivers to subscribers (Socket.IO, the farm-status
loop) from greenlets of their own, so no request waits for a browser.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..serialize import api_time, run_times
from .broker import EventBroker, Subscriber

__all__ = ["Changes", "EventBroker", "Subscriber"]


@dataclass
class Changes:
    """Events and task-log lines gathered during one transaction, in order."""

    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    logs: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def add(self, event: str, room: str, payload: dict[str, Any]) -> None:
        self.events.append((event, room, payload))

    def log(self, job_uuid: str, task_uuid: str, text: str, *, timestamp: bool = True) -> None:
        """A task-log line; the Manager's own lines get a timestamp."""
        self.logs.append((job_uuid, task_uuid, text, timestamp))


def job_updated(changes: Changes, job: sqlite3.Row, *, previous_status: str | None = None,
                refresh_tasks: bool = False) -> None:
    payload: dict[str, Any] = {
        "id": job["uuid"], "name": job["name"], "updated": api_time(job["updated_at"]),
        "status": job["status"], "type": job["job_type"], "priority": job["priority"],
        "refresh_tasks": refresh_tasks, "steps_completed": job["steps_completed"],
        "steps_total": job["steps_total"],
    }
    if previous_status is not None:
        payload["previous_status"] = str(previous_status)
    if job["delete_requested_at"]:
        payload["delete_requested_at"] = api_time(job["delete_requested_at"])
    changes.add("/jobs", "/jobs", payload)


def task_updated(changes: Changes, task: Mapping[str, Any], *, previous_status: str | None = None) -> None:
    payload: dict[str, Any] = {
        "id": task["uuid"], "job_id": task["job_uuid"], "name": task["name"],
        "updated": api_time(task["updated_at"]), "status": task["status"], "activity": task["activity"],
        "steps_completed": task["steps_completed"], "steps_total": task["steps_total"],
    }
    payload.update(run_times(task))
    if task["worker_uuid"]:
        payload["worker"] = {"name": task["worker_name"], "uuid": task["worker_uuid"]}
    if previous_status is not None:
        payload["previous_status"] = str(previous_status)
    changes.add("/task", f"/jobs/{task['job_uuid']}", payload)


def task_log(task_uuid: str, text: str) -> tuple[str, str, dict[str, Any]]:
    return ("/tasklog", f"/tasklog/{task_uuid}", {"task_id": task_uuid, "log": text})


def worker_updated(changes: Changes, worker: sqlite3.Row, *, previous_status: str | None = None) -> None:
    payload: dict[str, Any] = {
        "id": worker["uuid"], "name": worker["name"], "updated": api_time(worker["updated_at"]),
        "status": worker["status"], "version": worker["software"], "can_restart": bool(worker["can_restart"]),
    }
    if worker["last_seen_at"]:
        payload["last_seen"] = api_time(worker["last_seen_at"])
    if previous_status:
        payload["previous_status"] = previous_status
    if worker["status_requested"]:
        payload["status_change"] = {"status": worker["status_requested"],
                                    "is_lazy": bool(worker["lazy_status_request"])}
    if worker["deleted_at"]:
        payload["deleted_at"] = api_time(worker["deleted_at"])
    changes.add("/workers", "/workers", payload)


def job_deleted(changes: Changes, job_uuid: str) -> None:
    """The job and its files are gone; only `id` and `was_deleted` carry meaning."""
    changes.add("/jobs", "/jobs", {
        "id": job_uuid, "updated": "0001-01-01T00:00:00Z", "status": "canceled", "type": "",
        "priority": 0, "refresh_tasks": False, "steps_completed": 0, "steps_total": 0, "was_deleted": True})


def last_rendered(changes: Changes, job_uuid: str, thumbnail: dict[str, Any]) -> None:
    """New preview images of a job: to its own room and the global one."""
    payload = {"job_id": job_uuid, "thumbnail": thumbnail}
    changes.add("/last-rendered", f"/jobs/{job_uuid}/last-rendered", payload)
    changes.add("/last-rendered", "/last-rendered", payload)


def worker_tag_updated(changes: Changes, tag: dict[str, Any], *, was_deleted: bool = False) -> None:
    payload: dict[str, Any] = {"tag": tag}
    if was_deleted:
        payload["was_deleted"] = True
    changes.add("/workertags", "/workertags", payload)


def farm_status(changes: Changes, report: dict[str, str]) -> None:
    """The FarmStatusReport: `status`, and `disk_full` (ours) while a disk is full."""
    changes.add("/status", "/status", dict(report))


def lifecycle(changes: Changes, kind: str) -> None:
    """`manager-startup` or `manager-shutdown`."""
    changes.add("/lifecycle", "/lifecycle", {"type": kind})
