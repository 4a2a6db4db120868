"""SQL for worker tags and tag membership."""

from __future__ import annotations

import sqlite3

from .connection import utcnow

TAG_COLUMNS = "id, uuid, name, description"


def fetch_by_uuid(conn: sqlite3.Connection, uuid: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {TAG_COLUMNS} FROM worker_tags WHERE uuid = ?", (uuid,)).fetchone()


def fetch_by_name(conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {TAG_COLUMNS} FROM worker_tags WHERE name = ?", (name,)).fetchone()


def fetch_all(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(f"SELECT {TAG_COLUMNS} FROM worker_tags ORDER BY name").fetchall()


def insert(conn: sqlite3.Connection, uuid: str, name: str, description: str) -> int:
    cur = conn.execute("INSERT INTO worker_tags (created_at, uuid, name, description) VALUES (?, ?, ?, ?)",
                       (utcnow(), uuid, name, description))
    return int(cur.lastrowid)


def update(conn: sqlite3.Connection, tag_id: int, name: str, description: str | None) -> None:
    if description is None:
        conn.execute("UPDATE worker_tags SET name = ?, updated_at = ? WHERE id = ?", (name, utcnow(), tag_id))
    else:
        conn.execute("UPDATE worker_tags SET name = ?, description = ?, updated_at = ? WHERE id = ?",
                     (name, description, utcnow(), tag_id))


def delete(conn: sqlite3.Connection, tag_id: int) -> None:
    conn.execute("DELETE FROM worker_tags WHERE id = ?", (tag_id,))


def set_worker_tags(conn: sqlite3.Connection, worker_id: int, tag_uuids: list[str]) -> None:
    """Replace the worker's memberships; unknown tag ids are ignored."""
    conn.execute("DELETE FROM worker_tag_membership WHERE worker_id = ?", (worker_id,))
    if tag_uuids:
        marks = ",".join("?" * len(tag_uuids))
        conn.execute(
            f"""INSERT OR IGNORE INTO worker_tag_membership (worker_tag_id, worker_id)
                SELECT id, ? FROM worker_tags WHERE uuid IN ({marks})""", (worker_id, *tag_uuids))
