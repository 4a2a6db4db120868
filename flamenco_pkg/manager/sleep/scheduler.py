"""Applies sleep schedules to Workers: when one is set, at sign-on, and on each tick of the loop.

`zone` is the time zone schedules are read in; None (always, outside tests)
is this machine's zone, as upstream uses the Manager's local time.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone, tzinfo

from . import schedule as sleep_schedule
from ..context import Manager
from ..db import workers as worker_db
from ..db.connection import to_db_time
from ..events import Changes
from ..state_machine import rules as states
from ..state_machine import workers as worker_states


def _schedule(row: sqlite3.Row) -> sleep_schedule.Schedule:
    return sleep_schedule.Schedule(bool(row["is_active"]), row["days_of_week"], row["start_time"], row["end_time"])


def next_check_text(schedule: sleep_schedule.Schedule, now: datetime, zone: tzinfo | None = None) -> str:
    """The database text of the schedule's next check after the aware moment `now`."""
    wall = sleep_schedule.next_check(schedule, sleep_schedule.wall_clock(now, zone))
    return to_db_time(sleep_schedule.to_utc(wall, zone))


def scheduled_status(conn: sqlite3.Connection, worker_id: int, now: datetime | None = None,
                     zone: tzinfo | None = None) -> str | None:
    """The status the worker's active schedule wants now; None without an active schedule."""
    row = worker_db.fetch_schedule(conn, worker_id)
    if row is None or not row["is_active"]:
        return None
    now = now or datetime.now(timezone.utc)
    return sleep_schedule.verdict(_schedule(row), sleep_schedule.wall_clock(now, zone))


def apply_schedule(conn: sqlite3.Connection, changes: Changes, worker: sqlite3.Row,
                   schedule: sleep_schedule.Schedule, now: datetime, zone: tzinfo | None = None) -> None:
    """Ask the worker to sleep or wake as its schedule says (non-lazy), if needed.

    An inactive schedule says "awake", so switching a schedule off wakes a
    Worker it had put to sleep, as upstream does.
    """
    wanted = sleep_schedule.verdict(schedule, sleep_schedule.wall_clock(now, zone))
    change = states.sleep_scheduler_request(worker["status"], worker_states.current_request(worker), wanted,
                                            deleted=worker["deleted_at"] is not None)
    if change is not None:
        worker_states.apply(conn, changes, worker, change, "sleep schedule")


def tick(manager: Manager, now: datetime | None = None, zone: tzinfo | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    with manager.change() as (conn, changes):
        for row in worker_db.schedules_due(conn, to_db_time(now)):
            schedule = _schedule(row)
            worker_db.set_schedule_next_check(conn, row["worker_id"], next_check_text(schedule, now, zone))
            apply_schedule(conn, changes, worker_db.fetch_by_id(conn, row["worker_id"]), schedule, now, zone)
