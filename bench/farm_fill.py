"""Fill a Manager's database with many small queued jobs before it starts.

Submitting 10,000 jobs through the API would take minutes, so the rows are
written directly, shaped as an `echo-sleep-test` submission stores them: per
job an "echo" task and a "sleep" task that depends on it, both of type
`misc`, status queued, with the commands a Worker would run.

`Database` and `utcnow` come from the Manager (they open the file and apply
its migrations), and `rebuild_derived` recomputes what the Manager keeps in
step with task rows (the scheduler's copies of job fields, pending
dependencies, per-job task counts); the SQL of the fill is here.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from flamenco_pkg.manager.db.connection import Database, utcnow
from flamenco_pkg.manager.db.tasks import rebuild_derived

__all__ = ["add_big_job", "add_queued_jobs"]

SETTINGS = json.dumps({"message": "farm benchmark", "sleep_duration_seconds": 1, "sleep_repeats": 1})
ECHO = json.dumps([{"name": "echo", "parameters": {"message": "farm benchmark"}, "total_step_count": 0}])
SLEEP = json.dumps([{"name": "sleep", "parameters": {"duration_in_seconds": 1}, "total_step_count": 0}])


def add_queued_jobs(db_path: Path, n_jobs: int, priority: int = 50) -> int:
    """Add `n_jobs` queued two-task jobs of equal priority; returns how many jobs the file then holds."""
    db = Database(db_path)
    try:
        now = utcnow()
        with db.tx() as conn:
            first = conn.execute("SELECT COALESCE(MAX(id), 0) FROM jobs").fetchone()[0] + 1
            conn.executemany(
                "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status, settings,"
                " steps_total) VALUES (?, ?, ?, ?, 'echo-sleep-test', ?, 'queued', ?, 2)",
                ((now, now, str(uuid.uuid4()), f"bench-{n:05d}", priority, SETTINGS)
                 for n in range(first, first + n_jobs)))
            job_ids = [r[0] for r in conn.execute("SELECT id FROM jobs WHERE id >= ? ORDER BY id", (first,))]
            conn.executemany(
                "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status,"
                " commands, steps_total) VALUES (?, ?, ?, ?, 'misc', ?, ?, 'queued', ?, 1)",
                (row for job_id in job_ids for row in (
                    (now, now, str(uuid.uuid4()), "echo", job_id, 1, ECHO),
                    (now, now, str(uuid.uuid4()), "sleep", job_id, 2, SLEEP))))
            conn.execute(
                "INSERT INTO task_dependencies (task_id, dependency_id)"
                " SELECT s.id, e.id FROM tasks s JOIN tasks e ON e.job_id = s.job_id AND e.index_in_job = 1"
                " WHERE s.index_in_job = 2 AND s.job_id >= ?", (first,))
            rebuild_derived(conn)
            total = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        return total
    finally:
        db.close()


def add_big_job(db_path: Path, n_tasks: int) -> str:
    """Add one queued echo-sleep-test job of `n_tasks` tasks (an echo, then sleeps that depend on it); its uuid."""
    db = Database(db_path)
    try:
        now = utcnow()
        job_uuid = str(uuid.uuid4())
        settings = json.dumps({"message": "farm benchmark", "sleep_duration_seconds": 1,
                               "sleep_repeats": n_tasks - 1})
        with db.tx() as conn:
            job_id = conn.execute(
                "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status, settings,"
                " steps_total) VALUES (?, ?, ?, ?, 'echo-sleep-test', 50, 'queued', ?, ?)",
                (now, now, job_uuid, f"farm bench, {n_tasks} tasks", settings, n_tasks)).lastrowid
            conn.executemany(
                "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status,"
                " commands, steps_total) VALUES (?, ?, ?, ?, 'misc', ?, ?, 'queued', ?, 1)",
                ((now, now, str(uuid.uuid4()), "echo" if i == 1 else "sleep", job_id, i,
                  ECHO if i == 1 else SLEEP) for i in range(1, n_tasks + 1)))
            conn.execute(
                "INSERT INTO task_dependencies (task_id, dependency_id)"
                " SELECT s.id, e.id FROM tasks s JOIN tasks e ON e.job_id = s.job_id AND e.index_in_job = 1"
                " WHERE s.job_id = ? AND s.index_in_job > 1", (job_id,))
            rebuild_derived(conn)
        return job_uuid
    finally:
        db.close()
