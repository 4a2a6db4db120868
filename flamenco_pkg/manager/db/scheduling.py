"""SQL that finds the next runnable task for a worker.

The walk is job by job in priority order, and within a job one indexed
LIMIT-1 query per task type the worker supports, over the partial index
`tasks_schedulable`. Each query stops at the first runnable row, so the cost
does not grow with the number of finished tasks or with the length of a
job's queue. Dependencies are checked newest first: tasks finish roughly in
creation order, so a task waiting on many others (a preview video waiting on
every render) finds an unfinished one at once instead of walking the
finished ones. See bench/bench_scheduler.py for the measurement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

RUNNABLE_JOBS = """
SELECT j.id, j.priority FROM jobs j
WHERE j.status IN ('queued', 'active') AND j.delete_requested_at IS NULL
  AND (j.worker_tag_id IS NULL OR j.worker_tag_id IN (
        SELECT worker_tag_id FROM worker_tag_membership WHERE worker_id = :worker))
ORDER BY j.priority DESC, j.id ASC
"""

FIRST_TASK_OF_TYPE = """
SELECT t.id, t.priority FROM tasks t INDEXED BY tasks_schedulable
WHERE t.job_id = :job AND t.type = :type AND t.status IN ('queued', 'soft-failed')
  AND NOT EXISTS (SELECT 1 FROM job_blocks b
                  WHERE b.job_id = :job AND b.worker_id = :worker AND b.task_type = :type)
  AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = :worker)
  AND (SELECT d.dependency_id FROM task_dependencies d JOIN tasks dep ON dep.id = d.dependency_id
       WHERE d.task_id = t.id AND dep.status != 'completed'
       ORDER BY d.dependency_id DESC LIMIT 1) IS NULL
ORDER BY t.priority DESC, t.id ASC
LIMIT 1
"""

ALREADY_ACTIVE = """
SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
WHERE t.worker_id = ? AND t.status = 'active' AND j.status IN ('active', 'queued')
ORDER BY t.id LIMIT 1
"""


def already_active_task(conn: sqlite3.Connection, worker_id: int) -> int | None:
    row = conn.execute(ALREADY_ACTIVE, (worker_id,)).fetchone()
    return row[0] if row else None


def next_runnable_task(conn: sqlite3.Connection, worker_id: int, task_types: Sequence[str]) -> int | None:
    """The id of the task this worker should run next, or None.

    Order: job priority (high first), then task priority (high first), then
    task id (older first) as the explicit tie-break.
    """
    if not task_types:
        return None
    best: tuple[int, int, int] | None = None  # (job priority, -task priority, task id) to minimise
    best_job_priority: int | None = None
    for job_id, job_priority in conn.execute(RUNNABLE_JOBS, {"worker": worker_id}):
        if best_job_priority is not None and job_priority < best_job_priority:
            break  # every later job has a lower priority: the winner is known
        for task_type in task_types:
            row = conn.execute(FIRST_TASK_OF_TYPE, {"job": job_id, "type": task_type, "worker": worker_id}).fetchone()
            if row is None:
                continue
            key = (-job_priority, -row[1], row[0])
            if best is None or key < best:
                best = key
                best_job_priority = job_priority
    return best[2] if best else None
