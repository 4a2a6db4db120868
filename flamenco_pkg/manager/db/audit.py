"""SQL for the audit log: who changed what (issue 14)."""

from __future__ import annotations

import sqlite3


def insert(conn: sqlite3.Connection, *, time: str, username: str, operation: str, target: str,
           job_uuid: str | None, details: str | None) -> None:
    conn.execute("""INSERT INTO audit_log (time, username, operation, target, job_uuid, details)
                    VALUES (?, ?, ?, ?, ?, ?)""", (time, username, operation, target, job_uuid, details))


def fetch(conn: sqlite3.Connection, limit: int, job_uuid: str | None = None) -> list[sqlite3.Row]:
    """Newest first."""
    if job_uuid:
        return conn.execute("SELECT * FROM audit_log WHERE job_uuid = ? ORDER BY id DESC LIMIT ?",
                            (job_uuid, limit)).fetchall()
    return conn.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()


def job_uuid_of_task(conn: sqlite3.Connection, task_uuid: str) -> str | None:
    row = conn.execute("SELECT j.uuid FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.uuid = ?",
                       (task_uuid,)).fetchone()
    return row[0] if row else None
