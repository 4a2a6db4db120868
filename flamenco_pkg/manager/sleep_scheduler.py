"""Applies due sleep schedules: one tick of the sleep scheduler loop."""

from __future__ import annotations

from datetime import datetime

from . import sleep_schedule
from .context import Manager
from .db import workers as worker_db
from .db.connection import to_db_time
from .routes.worker_mgt import apply_schedule


def tick(manager: Manager, now: datetime | None = None) -> None:
    now = now or datetime.now().astimezone()
    with manager.change() as (conn, changes):
        for row in worker_db.schedules_due(conn, to_db_time(now)):
            schedule = sleep_schedule.Schedule(bool(row["is_active"]), row["days_of_week"],
                                               row["start_time"], row["end_time"])
            worker_db.set_schedule_next_check(conn, row["worker_id"],
                                              to_db_time(sleep_schedule.next_check(schedule, now)))
            apply_schedule(conn, changes, worker_db.fetch_by_id(conn, row["worker_id"]), schedule, now)
