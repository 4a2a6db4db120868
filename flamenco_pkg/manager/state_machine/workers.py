"""Applies worker status changes (states.py decides) to the database."""

from __future__ import annotations

import sqlite3

from .. import events
from . import rules as states
from ..db import workers as worker_db
from ..events import Changes
from .apply import return_worker_tasks


def current_request(worker: sqlite3.Row) -> states.WorkerRequest | None:
    if not worker["status_requested"]:
        return None
    return states.WorkerRequest(worker["status_requested"], bool(worker["lazy_status_request"]))


def apply(conn: sqlite3.Connection, changes: Changes, worker: sqlite3.Row, change: states.WorkerChange,
          reason: str) -> sqlite3.Row:
    """Store a WorkerChange, return tasks if it says so, and emit the worker event."""
    if change.return_tasks:
        return_worker_tasks(conn, changes, worker, reason)
    worker_db.set_status(conn, worker["id"], str(change.status))
    request = change.request
    worker_db.set_request(conn, worker["id"], str(request.status) if request else "",
                          bool(request.lazy) if request else False)
    after = worker_db.fetch_by_id(conn, worker["id"])
    previous = worker["status"] if worker["status"] != after["status"] else None
    events.worker_updated(changes, after, previous_status=previous)
    return after
