"""SQL for workers, their tags and the blocklist."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from .connection import utcnow

WORKER_COLUMNS = """id, created_at, updated_at, uuid, secret, name, address, platform, software,
    status, last_seen_at, status_requested, lazy_status_request, supported_task_types,
    deleted_at, can_restart"""


def insert_worker(conn: sqlite3.Connection, *, uuid: str, secret_hash: str, name: str, address: str,
                  platform: str, supported_task_types: list[str], status: str = "offline") -> int:
    """A new worker row; registration passes `rules.worker_registered()`'s status (offline)."""
    now = utcnow()
    cur = conn.execute(
        """INSERT INTO workers (created_at, updated_at, uuid, secret, name, address, platform,
                                supported_task_types, last_seen_at, status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (now, now, uuid, secret_hash, name, address, platform, ",".join(supported_task_types), now, status),
    )
    return int(cur.lastrowid)


def fetch_by_uuid(conn: sqlite3.Connection, uuid: str, *, include_deleted: bool = False) -> sqlite3.Row | None:
    extra = "" if include_deleted else " AND deleted_at IS NULL"
    return conn.execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE uuid = ?{extra}", (uuid,)).fetchone()


def fetch_by_id(conn: sqlite3.Connection, worker_id: int) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE id = ?", (worker_id,)).fetchone()


def fetch_all(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(f"SELECT {WORKER_COLUMNS} FROM workers WHERE deleted_at IS NULL ORDER BY id").fetchall()


def sign_on(conn: sqlite3.Connection, worker_id: int, *, name: str, address: str, software: str,
            can_restart: bool, supported_task_types: list[str]) -> None:
    now = utcnow()
    conn.execute(
        """UPDATE workers SET name = ?, address = ?, software = ?, can_restart = ?,
                              supported_task_types = ?, status = 'starting', last_seen_at = ?, updated_at = ?
           WHERE id = ?""",
        (name, address, software, int(can_restart), ",".join(supported_task_types), now, now, worker_id),
    )


def set_status(conn: sqlite3.Connection, worker_id: int, status: str) -> None:
    conn.execute("UPDATE workers SET status = ?, updated_at = ? WHERE id = ?", (status, utcnow(), worker_id))


def set_request(conn: sqlite3.Connection, worker_id: int, status: str, lazy: bool) -> None:
    conn.execute(
        "UPDATE workers SET status_requested = ?, lazy_status_request = ?, updated_at = ? WHERE id = ?",
        (status, int(lazy), utcnow(), worker_id),
    )


def mark_seen_many(conn: sqlite3.Connection, seen: Iterable[tuple[int, str]]) -> None:
    """(worker id, time) pairs; a mark never moves a Worker's last_seen_at back."""
    conn.executemany("UPDATE workers SET last_seen_at = ?2 WHERE id = ?1 AND (last_seen_at IS NULL OR last_seen_at < ?2)",
                     seen)


def tag_ids(conn: sqlite3.Connection, worker_id: int) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT worker_tag_id FROM worker_tag_membership WHERE worker_id = ?", (worker_id,))]


def tags(conn: sqlite3.Connection, worker_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT t.uuid, t.name, t.description FROM worker_tags t
           JOIN worker_tag_membership m ON m.worker_tag_id = t.id WHERE m.worker_id = ? ORDER BY t.name""",
        (worker_id,)).fetchall()


def add_block(conn: sqlite3.Connection, job_id: int, worker_id: int, task_type: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO job_blocks (created_at, job_id, worker_id, task_type) VALUES (?, ?, ?, ?)",
        (utcnow(), job_id, worker_id, task_type),
    )


def eligible_other_workers(conn: sqlite3.Connection, *, job_id: int, task_id: int, task_type: str,
                           worker_tag_id: int | None) -> list[int]:
    """Workers other than those that failed this task that could still run it.

    Counts non-deleted workers that list the task type, are not blocklisted for
    (job, type), and carry the job's tag when it has one. Offline and asleep
    workers count: they may come back.
    """
    rows = conn.execute(
        """SELECT w.id, w.supported_task_types FROM workers w
           WHERE w.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM job_blocks b WHERE b.job_id = ? AND b.worker_id = w.id AND b.task_type = ?)
             AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = ? AND f.worker_id = w.id)
             AND (? IS NULL OR EXISTS (SELECT 1 FROM worker_tag_membership m
                                       WHERE m.worker_id = w.id AND m.worker_tag_id = ?))""",
        (job_id, task_type, task_id, worker_tag_id, worker_tag_id)).fetchall()
    return [r[0] for r in rows if task_type in split_types(r[1])]


def split_types(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def ids_by_uuid(conn: sqlite3.Connection, uuids: Iterable[str]) -> dict[str, int]:
    wanted = list(uuids)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    return dict(conn.execute(f"SELECT uuid, id FROM workers WHERE uuid IN ({marks})", wanted).fetchall())


def statuses_for_farm(conn: sqlite3.Connection) -> list[tuple[str, bool]]:
    return [(r[0], bool(r[1])) for r in conn.execute("SELECT status, deleted_at IS NOT NULL FROM workers")]


def soft_delete(conn: sqlite3.Connection, worker_id: int) -> None:
    now = utcnow()
    conn.execute("UPDATE workers SET deleted_at = ?, updated_at = ? WHERE id = ?", (now, now, worker_id))


def timed_out(conn: sqlite3.Connection, seen_before: str) -> list[sqlite3.Row]:
    return conn.execute(
        f"""SELECT {WORKER_COLUMNS} FROM workers WHERE deleted_at IS NULL AND status NOT IN ('error', 'offline', '')
            AND last_seen_at <= ?""", (seen_before,)).fetchall()


def last_task(conn: sqlite3.Connection, worker_id: int) -> sqlite3.Row | None:
    """The worker's active task, else the one it touched last."""
    return conn.execute(
        """SELECT t.uuid, t.name, t.status, t.index_in_job, t.priority, t.type, t.updated_at,
                  t.steps_completed, t.steps_total, t.started_at, t.finished_at, j.uuid AS job_uuid,
                  w.uuid AS worker_uuid, w.name AS worker_name, w.address AS worker_address,
                  w.deleted_at AS worker_deleted_at
           FROM tasks t JOIN jobs j ON j.id = t.job_id JOIN workers w ON w.id = t.worker_id
           WHERE t.worker_id = ?
           ORDER BY t.status = 'active' DESC, t.last_touched_at DESC LIMIT 1""", (worker_id,)).fetchone()


def fetch_schedule(conn: sqlite3.Connection, worker_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT worker_id, is_active, days_of_week, start_time, end_time, next_check FROM sleep_schedules "
        "WHERE worker_id = ?", (worker_id,)).fetchone()


def save_schedule(conn: sqlite3.Connection, worker_id: int, *, is_active: bool, days_of_week: str,
                  start_time: str, end_time: str, next_check: str | None) -> None:
    now = utcnow()
    conn.execute(
        """INSERT INTO sleep_schedules (created_at, updated_at, worker_id, is_active, days_of_week, start_time,
                                        end_time, next_check)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (worker_id) DO UPDATE SET updated_at = excluded.updated_at, is_active = excluded.is_active,
               days_of_week = excluded.days_of_week, start_time = excluded.start_time,
               end_time = excluded.end_time, next_check = excluded.next_check""",
        (now, now, worker_id, int(is_active), days_of_week, start_time, end_time, next_check))


def set_schedule_next_check(conn: sqlite3.Connection, worker_id: int, next_check: str | None) -> None:
    conn.execute("UPDATE sleep_schedules SET next_check = ? WHERE worker_id = ?", (next_check, worker_id))


def schedules_due(conn: sqlite3.Connection, now: str) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT s.worker_id, s.is_active, s.days_of_week, s.start_time, s.end_time, s.next_check
           FROM sleep_schedules s JOIN workers w ON w.id = s.worker_id
           WHERE s.is_active = 1 AND w.deleted_at IS NULL
             AND (s.next_check IS NULL OR s.next_check = '' OR s.next_check <= ?)""", (now,)).fetchall()
