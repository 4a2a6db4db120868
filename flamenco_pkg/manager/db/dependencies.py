"""Releasing the dependents of a task with many of them, a batch at a time (migration 0009).

A task completed with more than 1000 dependents leaves a row in
`dependency_releases`; `release_some` lowers the pending-dependency count of
up to `limit` of its dependents per call, in `task_dependencies` rowid order,
and drops the row when all are done. Run through `batching.in_batches`, so
each batch is a short transaction and Workers are answered in between.
"""

from __future__ import annotations

import sqlite3


def pending(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM dependency_releases LIMIT 1").fetchone() is not None


def release_some(conn: sqlite3.Connection, limit: int) -> int:
    """Release up to `limit` dependents of the oldest queued release; returns how many.

    Fewer than `limit` means that release is finished (others may wait).
    """
    release = conn.execute(
        "SELECT id, dependency_id, done_up_to FROM dependency_releases ORDER BY id LIMIT 1").fetchone()
    if release is None:
        return 0
    release_id, dependency_id, done_up_to = release
    batch = conn.execute(
        """SELECT rowid, task_id FROM task_dependencies INDEXED BY task_dependencies_dep
           WHERE dependency_id = ? AND rowid > ? ORDER BY rowid LIMIT ?""",
        (dependency_id, done_up_to, limit)).fetchall()
    conn.executemany("UPDATE tasks SET deps_pending = deps_pending - 1 WHERE id = ?", [(t,) for _r, t in batch])
    if len(batch) < limit:
        conn.execute("DELETE FROM dependency_releases WHERE id = ?", (release_id,))
    else:
        conn.execute("UPDATE dependency_releases SET done_up_to = ? WHERE id = ?", (batch[-1][0], release_id))
    return len(batch)

