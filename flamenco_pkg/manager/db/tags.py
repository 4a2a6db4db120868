"""SQL for worker tags."""

from __future__ import annotations

import sqlite3


def fetch_by_uuid(conn: sqlite3.Connection, uuid: str) -> sqlite3.Row | None:
    return conn.execute("SELECT id, uuid, name, description FROM worker_tags WHERE uuid = ?", (uuid,)).fetchone()
