"""Timeouts: active tasks nobody touched, workers nobody heard from."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from ..state_machine import rules as states
from ..state_machine import workers as worker_states
from ..context import Manager
from ..db import tasks as task_db
from ..db import workers as worker_db
from ..db.connection import to_db_time
from ..serialize import api_time
from ..state_machine.apply import change_task_status

log = logging.getLogger("flamenco.timeouts")


def check_task_timeouts(manager: Manager, now: datetime | None = None) -> int:
    """Fail active tasks untouched for task_timeout; returns how many."""
    now = now or datetime.now(timezone.utc)
    limit = to_db_time(now - manager.config.task_timeout)
    with manager.change() as (conn, changes):
        tasks = task_db.timed_out(conn, limit)
        for task in tasks:
            who = f"worker {task['worker_name']} ({task['worker_uuid']})" if task["worker_uuid"] else "no worker"
            reason = f"task timed out: {who} last touched it at {api_time(task['last_touched_at'])}"
            log.warning("%s: %s", task["uuid"], reason)
            changes.log(task["job_uuid"], task["uuid"], reason)
            change_task_status(conn, changes, task, "failed", activity=reason)
    return len(tasks)


def check_worker_timeouts(manager: Manager, now: datetime | None = None) -> int:
    """Workers silent for worker_timeout go to error and give their tasks back."""
    now = now or datetime.now(timezone.utc)
    limit = to_db_time(now - manager.config.worker_timeout)
    with manager.change() as (conn, changes):
        manager.worker_auth.seen.write(conn)  # Workers heard from since the last write are not silent
        workers = worker_db.timed_out(conn, limit)
        for worker in workers:
            log.warning("worker %s (%s) has not been seen since %s, marking it as error",
                        worker["name"], worker["uuid"], api_time(worker["last_seen_at"]))
            worker_states.apply(conn, changes, worker, states.worker_timed_out(),
                                f"worker {worker['name']} timed out")
    return len(workers)
