"""SQL for job -> job dependencies (migration 0008)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..job_dependencies.rules import Dependency
from .connection import utcnow

# Jobs that can be named in depends_on: shown and not being deleted.
DEPENDABLE = "status != 'under-construction' AND delete_requested_at IS NULL"


def dependable_ids(conn: sqlite3.Connection, uuids: Sequence[str]) -> dict[str, int]:
    """uuid -> row id of those of `uuids` that name a job that can be depended on."""
    if not uuids:
        return {}
    marks = ",".join("?" * len(uuids))
    return dict(conn.execute(f"SELECT uuid, id FROM jobs WHERE uuid IN ({marks}) AND {DEPENDABLE}", list(uuids)))


def upstream_graph(conn: sqlite3.Connection, start_ids: Iterable[int]) -> dict[str, list[str]]:
    """uuid -> dependency uuids of every job reachable from `start_ids` through dependencies."""
    ids = list(start_ids)
    if not ids:
        return {}
    seeds = " UNION ".join("SELECT ?" for _ in ids)
    rows = conn.execute(
        f"""WITH RECURSIVE reach(id) AS ({seeds}
                UNION SELECT d.dependency_id FROM job_dependencies d JOIN reach ON d.job_id = reach.id)
            SELECT j.uuid, dj.uuid FROM reach JOIN jobs j ON j.id = reach.id
            LEFT JOIN job_dependencies d ON d.job_id = reach.id LEFT JOIN jobs dj ON dj.id = d.dependency_id""",
        ids).fetchall()
    graph: dict[str, list[str]] = {}
    for job, dependency in rows:
        graph.setdefault(job, [])
        if dependency is not None:
            graph[job].append(dependency)
    return graph


def insert(conn: sqlite3.Connection, job_id: int, dependency_ids: Iterable[int]) -> None:
    """Record the job's dependencies and count those not completed yet."""
    conn.executemany("INSERT OR IGNORE INTO job_dependencies (job_id, dependency_id) VALUES (?, ?)",
                     [(job_id, d) for d in dependency_ids])
    conn.execute(
        """UPDATE jobs SET deps_pending = (
               SELECT COUNT(*) FROM job_dependencies d JOIN jobs dep ON dep.id = d.dependency_id
               WHERE d.job_id = jobs.id AND dep.status != 'completed')
           WHERE id = ?""", (job_id,))


def dependencies(conn: sqlite3.Connection, job_id: int) -> list[Dependency]:
    """The jobs this job depends on, oldest first."""
    return [Dependency(*row) for row in conn.execute(
        """SELECT j.uuid, j.name, j.status FROM job_dependencies d JOIN jobs j ON j.id = d.dependency_id
           WHERE d.job_id = ? ORDER BY j.id""", (job_id,))]


def dependents(conn: sqlite3.Connection, job_id: int) -> list[Dependency]:
    """The shown jobs that depend on this job, oldest first."""
    return [Dependency(*row) for row in conn.execute(
        """SELECT j.uuid, j.name, j.status FROM job_dependencies d JOIN jobs j ON j.id = d.job_id
           WHERE d.dependency_id = ? AND j.status != 'under-construction' ORDER BY j.id""", (job_id,))]


def dependent_ids(conn: sqlite3.Connection, job_id: int) -> list[int]:
    """Row ids of the shown jobs that depend on this job."""
    return [r[0] for r in conn.execute(
        """SELECT j.id FROM job_dependencies d JOIN jobs j ON j.id = d.job_id
           WHERE d.dependency_id = ? AND j.status != 'under-construction' ORDER BY j.id""", (job_id,))]


def live_dependents(conn: sqlite3.Connection, job_ids: Sequence[int]) -> dict[str, list[str]]:
    """uuid of each of `job_ids` -> uuids of the jobs depending on it that are not being deleted."""
    if not job_ids:
        return {}
    out: dict[str, list[str]] = {}
    for start in range(0, len(job_ids), 500):
        chunk = list(job_ids[start:start + 500])
        marks = ",".join("?" * len(chunk))
        for dependency, dependent in conn.execute(
                f"""SELECT dj.uuid, j.uuid FROM job_dependencies d JOIN jobs j ON j.id = d.job_id
                    JOIN jobs dj ON dj.id = d.dependency_id
                    WHERE d.dependency_id IN ({marks}) AND j.delete_requested_at IS NULL
                    ORDER BY j.id""", chunk):
            out.setdefault(dependency, []).append(dependent)
    return out


def uuids_of(conn: sqlite3.Connection, job_ids: Sequence[int]) -> list[str]:
    out = []
    for start in range(0, len(job_ids), 500):
        chunk = list(job_ids[start:start + 500])
        out.extend(r[0] for r in conn.execute(
            f"SELECT uuid FROM jobs WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return out


def set_dependency_paused(conn: sqlite3.Connection, job_id: int, paused: bool) -> None:
    conn.execute("UPDATE jobs SET dependency_paused = ? WHERE id = ?", (int(paused), job_id))


def set_activity(conn: sqlite3.Connection, job_id: int, activity: str) -> None:
    """The activity alone; the status stays."""
    conn.execute("UPDATE jobs SET activity = ?, updated_at = ? WHERE id = ?", (activity[:255], utcnow(), job_id))
