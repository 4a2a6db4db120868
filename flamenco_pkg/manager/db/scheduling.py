"""SQL that finds the next runnable task for a worker.

Every task that could be handed out is in the partial index
`tasks_runnable(type, job_tag_id, job_priority DESC, priority DESC, id)`:
queued or soft-failed, no unfinished dependency, its job queued or active and
not being deleted (migration 0002 keeps those copies on the task row). A pick
asks that index once per (task type the worker supports, worker tag it may
take: its own tags and "no tag"), each an index seek that stops at the first
row this worker may run, and keeps the best. So its cost does not depend on
how many jobs are queued, waiting or meant for other workers. The only rows
a seek walks past are ones this worker may not run: tasks it failed itself,
and a job that blocklisted it for that task type (see docs/architecture.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

FIRST_RUNNABLE = """
SELECT t.id, t.job_priority, t.priority FROM tasks t INDEXED BY tasks_runnable
WHERE t.type = :type AND t.job_tag_id IS :tag
  AND t.status IN ('queued', 'soft-failed') AND t.deps_pending = 0 AND t.job_schedulable = 1
  AND NOT EXISTS (SELECT 1 FROM job_blocks b
                  WHERE b.job_id = t.job_id AND b.worker_id = :worker AND b.task_type = :type)
  AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = :worker)
ORDER BY t.job_priority DESC, t.priority DESC, t.id ASC
LIMIT 1
"""

WORKER_TAGS = "SELECT worker_tag_id FROM worker_tag_membership WHERE worker_id = ?"

ALREADY_ACTIVE = """
SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
WHERE t.worker_id = ? AND t.status = 'active' AND j.status IN ('active', 'queued')
ORDER BY t.id LIMIT 1
"""


ANY_RUNNABLE = """
SELECT 1 FROM tasks INDEXED BY tasks_runnable
WHERE status IN ('queued', 'soft-failed') AND deps_pending = 0 AND job_schedulable = 1 LIMIT 1
"""


def any_runnable(conn: sqlite3.Connection) -> bool:
    """Whether any worker at all could be handed a task now (one index row)."""
    return conn.execute(ANY_RUNNABLE).fetchone() is not None


def already_active_task(conn: sqlite3.Connection, worker_id: int) -> int | None:
    row = conn.execute(ALREADY_ACTIVE, (worker_id,)).fetchone()
    return row[0] if row else None


def next_runnable_task(conn: sqlite3.Connection, worker_id: int, task_types: Sequence[str]) -> int | None:
    """The id of the task this worker should run next, or None.

    Order: job priority (high first), then task priority (high first), then
    task id (older first) as the explicit tie-break. Jobs with a worker tag go
    only to workers with that tag; untagged jobs go to anyone.
    """
    if not task_types:
        return None
    tags: list[int | None] = [None, *(r[0] for r in conn.execute(WORKER_TAGS, (worker_id,)))]
    best: tuple[int, int, int] | None = None  # (-job priority, -task priority, task id): smallest wins
    for task_type in dict.fromkeys(task_types):
        for tag in tags:
            row = conn.execute(FIRST_RUNNABLE, {"type": task_type, "tag": tag, "worker": worker_id}).fetchone()
            if row is None:
                continue
            key = (-row[1], -row[2], row[0])
            if best is None or key < best:
                best = key
    return best[2] if best else None
