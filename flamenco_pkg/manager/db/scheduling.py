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

import functools
import sqlite3
from collections.abc import Sequence

from . import tasks as task_db
from . import workers as worker_db

FIRST_RUNNABLE = """
SELECT t.id, t.job_priority, t.priority FROM tasks t INDEXED BY tasks_runnable
WHERE t.type = :type{n} AND t.job_tag_id IS :tag{n}
  AND t.status IN ('queued', 'soft-failed') AND t.deps_pending = 0 AND t.job_schedulable = 1
  AND NOT EXISTS (SELECT 1 FROM job_blocks b
                  WHERE b.job_id = t.job_id AND b.worker_id = :worker AND b.task_type = :type{n})
  AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = :worker)
ORDER BY t.job_priority DESC, t.priority DESC, t.id ASC
LIMIT 1
"""

WORKER_TAGS = "SELECT worker_tag_id FROM worker_tag_membership WHERE worker_id = ?"

# The Worker's row with what a pick needs besides: its tags (comma-separated
# ids) and the task it already runs, if any. One read where there were three.
WORKER_FOR_PICK = f"""
SELECT {worker_db.WORKER_COLUMNS},
  (SELECT group_concat(m.worker_tag_id) FROM worker_tag_membership m WHERE m.worker_id = workers.id) AS pick_tag_ids,
  (SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
   WHERE t.worker_id = workers.id AND t.status = 'active' AND j.status IN ('active', 'queued')
   ORDER BY t.id LIMIT 1) AS pick_active_task_id
FROM workers WHERE id = ?
"""

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


def worker_for_pick(conn: sqlite3.Connection, worker_id: int) -> tuple[sqlite3.Row, list[int], int | None] | None:
    """The Worker's row, its tag ids and the id of the task it already runs (as `already_active_task`)."""
    row = conn.execute(WORKER_FOR_PICK, (worker_id,)).fetchone()
    if row is None:
        return None
    tags = [int(t) for t in row["pick_tag_ids"].split(",")] if row["pick_tag_ids"] else []
    return row, tags, row["pick_active_task_id"]


@functools.lru_cache(maxsize=64)
def _pick_sql(seeks: int, columns: str) -> str:
    """One statement for `seeks` index seeks (:type<n>, :tag<n>), the best first, then its `columns`.

    Each seek stops at its first row (FIRST_RUNNABLE); the outer ORDER BY
    keeps the scheduler's order among the winners.
    """
    union = "\nUNION ALL\n".join(f"SELECT * FROM ({FIRST_RUNNABLE.format(n=n)})" for n in range(seeks))
    best = f"SELECT id FROM ({union}) ORDER BY job_priority DESC, priority DESC, id ASC LIMIT 1"
    if columns == "id":
        return best
    return f"SELECT {columns} FROM {task_db.TASK_FROM} WHERE t.id = ({best})"


def _pick(conn: sqlite3.Connection, worker_id: int, task_types: Sequence[str], tags: Sequence[int],
          columns: str) -> sqlite3.Row | None:
    seeks = [(task_type, tag) for task_type in dict.fromkeys(task_types) for tag in (None, *tags)]
    if not seeks:
        return None
    params: dict[str, object] = {"worker": worker_id}
    for n, (task_type, tag) in enumerate(seeks):
        params[f"type{n}"] = task_type
        params[f"tag{n}"] = tag
    return conn.execute(_pick_sql(len(seeks), columns), params).fetchone()


def next_runnable_task(conn: sqlite3.Connection, worker_id: int, task_types: Sequence[str],
                       tags: Sequence[int] | None = None) -> int | None:
    """The id of the task this worker should run next, or None.

    Order: job priority (high first), then task priority (high first), then
    task id (older first) as the explicit tie-break. Jobs with a worker tag go
    only to workers with that tag (`tags`, read when not given); untagged jobs
    go to anyone.
    """
    if tags is None:
        tags = [r[0] for r in conn.execute(WORKER_TAGS, (worker_id,))]
    row = _pick(conn, worker_id, task_types, tags, "id")
    return row[0] if row else None


def pick_task(conn: sqlite3.Connection, worker_id: int, task_types: Sequence[str],
              tags: Sequence[int]) -> sqlite3.Row | None:
    """The task `next_runnable_task` picks, as `tasks.fetch_by_id` reads it, in the same statement."""
    return _pick(conn, worker_id, task_types, tags, task_db.TASK_COLUMNS)
