"""SQL for jobs and the job-level view of their tasks."""

from __future__ import annotations

import json
from collections import Counter
import sqlite3
from collections.abc import Iterable
from typing import Any

from .connection import utcnow

JOB_COLUMNS = """j.id, j.created_at, j.updated_at, j.uuid, j.name, j.job_type, j.priority,
    j.status, j.activity, j.settings, j.metadata, j.delete_requested_at,
    j.storage_shaman_checkout_id, j.steps_completed, j.steps_total,
    j.worker_tag_id, wt.uuid AS worker_tag_uuid, j.deps_pending, j.dependency_paused, j.submitted_by"""

JOB_FROM = "jobs j LEFT JOIN worker_tags wt ON wt.id = j.worker_tag_id"


def insert_job(conn: sqlite3.Connection, *, uuid: str, name: str, job_type: str, priority: int,
               status: str, settings: dict, metadata: dict, worker_tag_id: int | None,
               shaman_checkout_id: str, created_at: str, submitted_by: str | None = None) -> int:
    cur = conn.execute(
        """INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status,
                             settings, metadata, worker_tag_id, storage_shaman_checkout_id, submitted_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (created_at, created_at, uuid, name, job_type, priority, status,
         json.dumps(settings), json.dumps(metadata), worker_tag_id, shaman_checkout_id, submitted_by),
    )
    return int(cur.lastrowid)


def finish_construction(conn: sqlite3.Connection, job_id: int, status: str, steps_total: int,
                        settings: dict, metadata: dict) -> bool:
    """Make a stored job visible in its initial status; False when it was abandoned meanwhile."""
    return conn.execute(
        """UPDATE jobs SET status = ?, steps_total = ?, settings = ?, metadata = ?, updated_at = created_at
           WHERE id = ? AND status = 'under-construction' AND delete_requested_at IS NULL""",
        (status, steps_total, json.dumps(settings), json.dumps(metadata), job_id)).rowcount == 1


def abandon_construction(conn: sqlite3.Connection, created_before: str | None = None,
                         job_id: int | None = None) -> list[int]:
    """Mark jobs still under construction for deletion; returns their ids.

    Either one job (a submission that failed half-way) or all created before
    a moment (left by a Manager that stopped mid-submission). They stay
    hidden while the job deleter removes them.
    """
    now = utcnow()
    where = "status = 'under-construction' AND delete_requested_at IS NULL"
    if job_id is not None:
        rows = conn.execute(f"SELECT id FROM jobs WHERE {where} AND id = ?", (job_id,)).fetchall()
    else:
        rows = conn.execute(f"SELECT id FROM jobs WHERE {where} AND created_at < ?", (created_before,)).fetchall()
    ids = [row[0] for row in rows]
    conn.executemany("UPDATE jobs SET delete_requested_at = ? WHERE id = ?", [(now, i) for i in ids])
    return ids


def fetch_by_uuid(conn: sqlite3.Connection, uuid: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.uuid = ?", (uuid,)).fetchone()


def fetch_by_id(conn: sqlite3.Connection, job_id: int) -> sqlite3.Row | None:
    return conn.execute(f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.id = ?", (job_id,)).fetchone()


def fetch_all(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every job in creation order (but those still being stored): GET /jobs without parameters."""
    return fetch_page(conn)


# Jobs still being stored (a big submission) are not shown until they are whole.
SHOWN = "j.status != 'under-construction'"

# `sort` values of GET /jobs (without the leading "-" for descending) and their column.
JOB_SORTS = {"created": "j.id", "updated": "j.updated_at", "priority": "j.priority",
             "name": "j.name COLLATE NOCASE", "status": "j.status", "type": "j.job_type"}


def fetch_page(conn: sqlite3.Connection, limit: int = -1, offset: int = 0,
               sort: str = "created") -> list[sqlite3.Row]:
    """One page of jobs in `sort` order ("-name": descending); `limit` -1 means all.

    Ties go by id in the same direction, so pages neither overlap nor skip rows.
    """
    direction = "DESC" if sort.startswith("-") else "ASC"
    order = f"{JOB_SORTS[sort.lstrip('-')]} {direction}, j.id {direction}"
    if sort.lstrip("-") == "created":  # the rowid: no sorting at all
        return conn.execute(f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE {SHOWN} ORDER BY {order} LIMIT ? OFFSET ?",
                            (limit, offset)).fetchall()
    # Sort the narrow (column, id) pairs, then fetch the wide rows of the page:
    # sorting whole rows (settings and all) of 100k jobs costs seconds.
    return conn.execute(
        f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.id IN "
        f"(SELECT j.id FROM jobs j WHERE {SHOWN} ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
        (limit, offset)).fetchall()


def fetch_by_status(conn: sqlite3.Connection, statuses: Iterable[str]) -> list[sqlite3.Row]:
    wanted = list(statuses)
    marks = ",".join("?" * len(wanted))
    return conn.execute(
        f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.status IN ({marks}) ORDER BY j.id", wanted
    ).fetchall()


def set_status(conn: sqlite3.Connection, job_id: int, status: str, activity: str) -> None:
    conn.execute(
        "UPDATE jobs SET status = ?, activity = ?, updated_at = ? WHERE id = ?",
        (status, activity[:255], utcnow(), job_id),
    )


def task_statuses(conn: sqlite3.Connection, job_id: int) -> dict[int, str]:
    return dict(conn.execute("SELECT id, status FROM tasks WHERE job_id = ?", (job_id,)).fetchall())


def recompute_steps(conn: sqlite3.Connection, job_id: int) -> None:
    """Job steps are the sums over its tasks."""
    conn.execute(
        """UPDATE jobs SET
             steps_completed = (SELECT COALESCE(SUM(steps_completed), 0) FROM tasks WHERE job_id = ?),
             steps_total = (SELECT COALESCE(SUM(steps_total), 0) FROM tasks WHERE job_id = ?),
             updated_at = ?
           WHERE id = ?""",
        (job_id, job_id, utcnow(), job_id),
    )


def reset_updated_at(conn: sqlite3.Connection, job_id: int) -> None:
    """A freshly stored job counts as unchanged since its creation."""
    conn.execute("UPDATE jobs SET updated_at = created_at WHERE id = ?", (job_id,))


def clear_failures_and_blocks(conn: sqlite3.Connection, job_id: int) -> None:
    conn.execute("DELETE FROM task_failures WHERE task_id IN (SELECT id FROM tasks WHERE job_id = ?)", (job_id,))
    conn.execute("DELETE FROM job_blocks WHERE job_id = ?", (job_id,))


def decode_json(text: str) -> Any:
    return json.loads(text) if text else {}


def status_and_task_counts(conn: sqlite3.Connection, job_id: int) -> tuple[str, Counter]:
    """The job's status and its tasks per status (kept by migration 0002's triggers, no scan of the
    tasks), in one read: what a task's change cascades on."""
    rows = conn.execute(
        """SELECT j.status, c.status, c.count FROM jobs j
           LEFT JOIN job_task_counts c ON c.job_id = j.id AND c.count > 0 WHERE j.id = ?""", (job_id,)).fetchall()
    return rows[0][0], Counter({status: count for _job, status, count in rows if status is not None})


def distinct_statuses(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT status FROM jobs")]


def set_priority(conn: sqlite3.Connection, job_id: int, priority: int) -> None:
    conn.execute("UPDATE jobs SET priority = ?, updated_at = ? WHERE id = ?", (priority, utcnow(), job_id))


def set_worker_tag(conn: sqlite3.Connection, job_id: int, tag_id: int | None) -> None:
    conn.execute("UPDATE jobs SET worker_tag_id = ?, updated_at = ? WHERE id = ?", (tag_id, utcnow(), job_id))


def request_deletion(conn: sqlite3.Connection, job_id: int) -> None:
    now = utcnow()
    conn.execute("UPDATE jobs SET delete_requested_at = ?, updated_at = ? WHERE id = ?", (now, now, job_id))


def ids_updated_before(conn: sqlite3.Connection, moment: str) -> list[int]:
    """Jobs last updated at or before `moment`; a job still being stored is not one yet."""
    return [r[0] for r in conn.execute(
        "SELECT id FROM jobs WHERE updated_at <= ? AND status != 'under-construction' ORDER BY id", (moment,))]


def deletion_requested(conn: sqlite3.Connection, limit: int = 100) -> list[sqlite3.Row]:
    return conn.execute(
        f"SELECT {JOB_COLUMNS} FROM {JOB_FROM} WHERE j.delete_requested_at IS NOT NULL "
        "ORDER BY j.delete_requested_at LIMIT ?", (limit,)).fetchall()


def delete(conn: sqlite3.Connection, job_id: int) -> None:
    conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


def blocklist(conn: sqlite3.Connection, job_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        """SELECT w.uuid AS worker_uuid, w.name AS worker_name, b.task_type FROM job_blocks b
           JOIN workers w ON w.id = b.worker_id WHERE b.job_id = ? ORDER BY b.id""", (job_id,)).fetchall()


def remove_block(conn: sqlite3.Connection, job_id: int, worker_uuid: str, task_type: str) -> None:
    conn.execute(
        """DELETE FROM job_blocks WHERE job_id = ? AND task_type = ?
           AND worker_id = (SELECT id FROM workers WHERE uuid = ?)""", (job_id, task_type, worker_uuid))
