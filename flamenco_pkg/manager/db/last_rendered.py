"""SQL for `last_rendereds`: the one row naming the job that most recently sent an image."""

from __future__ import annotations

import sqlite3

from .connection import utcnow


def set_job(conn: sqlite3.Connection, job_id: int) -> None:
    """Make `job_id` the farm-wide last-rendered job (the table holds a single row, id 1)."""
    now = utcnow()
    conn.execute(
        """INSERT INTO last_rendereds (id, created_at, updated_at, job_id) VALUES (1, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, job_id = excluded.job_id""",
        (now, now, job_id),
    )


def job_uuid(conn: sqlite3.Connection) -> str | None:
    """UUID of the last-rendered job; None before the first image (or after that job was deleted)."""
    row = conn.execute(
        "SELECT j.uuid FROM last_rendereds lr JOIN jobs j ON j.id = lr.job_id WHERE lr.id = 1"
    ).fetchone()
    return row[0] if row else None


def job_id_for_uuid(conn: sqlite3.Connection, uuid: str) -> int | None:
    """Row id of a job, or None when it was deleted meanwhile."""
    row = conn.execute("SELECT id FROM jobs WHERE uuid = ?", (uuid,)).fetchone()
    return int(row[0]) if row else None
