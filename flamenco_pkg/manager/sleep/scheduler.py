"""Applies sleep schedules to Workers: when one is set, and on each tick of the loop."""

from __future__ import annotations

from datetime import datetime

from . import schedule as sleep_schedule
from ..context import Manager
from ..db import workers as worker_db
from ..db.connection import to_db_time
from ..state_machine import rules as states
from ..state_machine import workers as worker_states


def apply_schedule(conn, changes, worker, schedule: sleep_schedule.Schedule, now: datetime) -> None:
    """Ask the worker to sleep or wake as its schedule says (non-lazy), if needed."""
    change = states.sleep_scheduler_request(worker["status"], worker_states.current_request(worker),
                                            sleep_schedule.verdict(schedule, now),
                                            deleted=worker["deleted_at"] is not None)
    if change is not None:
        worker_states.apply(conn, changes, worker, change, "sleep schedule")


def tick(manager: Manager, now: datetime | None = None) -> None:
    now = now or datetime.now().astimezone()
    with manager.change() as (conn, changes):
        for row in worker_db.schedules_due(conn, to_db_time(now)):
            schedule = sleep_schedule.Schedule(bool(row["is_active"]), row["days_of_week"],
                                               row["start_time"], row["end_time"])
            worker_db.set_schedule_next_check(conn, row["worker_id"],
                                              to_db_time(sleep_schedule.next_check(schedule, now)))
            apply_schedule(conn, changes, worker_db.fetch_by_id(conn, row["worker_id"]), schedule, now)
