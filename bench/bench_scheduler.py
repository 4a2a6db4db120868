"""How long picking a task takes, and that it does not grow with the queue.

1. 100k tasks in one job (0/50/99 % done): the shipped pick (the
   `tasks_runnable` index, one seek per task type and tag) against the naive
   single query that sorts every candidate, on the same data.
2. Many queued jobs of equal priority (10, 3,000, 10,000): the pick against
   a raw-SQLite baseline in the same process (one LIMIT-1 seek on a plain
   index over a table of the same size), so the ratio says what the rules
   cost beyond reading one index row.
3. One runnable job behind 0 and 10,000 higher-priority jobs that wait for
   another job (job dependencies): the pick should not notice them.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

from bench import report
from flamenco_pkg.manager.db import scheduling
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db.connection import Database, utcnow

NAIVE = """
SELECT t.id FROM tasks t NOT INDEXED JOIN jobs j ON j.id = t.job_id
WHERE t.status IN ('queued','soft-failed') AND j.status IN ('queued','active')
  AND t.type IN (SELECT value FROM json_each(:types))
  AND (j.worker_tag_id IS NULL OR j.worker_tag_id IN (SELECT worker_tag_id FROM worker_tag_membership WHERE worker_id = :worker))
  AND NOT EXISTS (SELECT 1 FROM job_blocks b WHERE b.job_id = j.id AND b.worker_id = :worker AND b.task_type = t.type)
  AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = :worker)
  AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dep ON dep.id = d.dependency_id
                  WHERE d.task_id = t.id AND dep.status != 'completed')
ORDER BY j.priority DESC, t.priority DESC, t.id ASC LIMIT 1
"""

TYPES = ["blender", "ffmpeg", "file-management", "misc"]


def populate(db: Database, n_tasks: int, done_fraction: float) -> int:
    """One big job (a preview task depending on all renders) plus a few small ones."""
    now = utcnow()
    with db.tx() as conn:
        cur = conn.execute(
            "INSERT INTO workers (created_at, updated_at, uuid, secret, name, status) VALUES (?,?,?,?,?,?)",
            (now, now, str(uuid.uuid4()), "x", "bench", "awake"))
        worker = cur.lastrowid
        for j in range(20):
            big = j == 0
            cur = conn.execute(
                "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status) VALUES (?,?,?,?,?,?,?)",
                (now, now, str(uuid.uuid4()), f"job{j}", "simple-blender-render", 50, "active" if big else "completed"))
            job = cur.lastrowid
            count = n_tasks if big else 100
            done = int(count * done_fraction) if big else count
            rows = [(now, now, str(uuid.uuid4()), f"render-{i}", "blender", job, i + 1,
                     "completed" if i < done else "queued") for i in range(count)]
            conn.executemany(
                "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status) VALUES (?,?,?,?,?,?,?,?)",
                rows)
            first, last = conn.execute("SELECT MIN(id), MAX(id) FROM tasks WHERE job_id = ?", (job,)).fetchone()
            cur = conn.execute(
                "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status) VALUES (?,?,?,?,?,?,?,?)",
                (now, now, str(uuid.uuid4()), "preview-video", "ffmpeg", job, count + 1, "completed" if not big else "queued"))
            conn.executemany("INSERT INTO task_dependencies (task_id, dependency_id) VALUES (?, ?)",
                             [(cur.lastrowid, d) for d in range(first, last + 1)])
        task_db.rebuild_derived(conn)
    db.conn.execute("ANALYZE")
    return worker


def timeit(fn, repeat: int = 50) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def populate_queue(db: Database, n_jobs: int, tasks_per_job: int = 10) -> int:
    """`n_jobs` queued jobs of equal priority, renders plus a video waiting on them."""
    now = utcnow()
    with db.tx() as conn:
        worker = conn.execute(
            "INSERT INTO workers (created_at, updated_at, uuid, secret, name, status) VALUES (?,?,?,?,?,?)",
            (now, now, str(uuid.uuid4()), "x", "bench", "awake")).lastrowid
        for j in range(n_jobs):
            job = conn.execute(
                "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status) VALUES (?,?,?,?,?,?,?)",
                (now, now, str(uuid.uuid4()), f"job{j}", "simple-blender-render", 50, "queued")).lastrowid
            conn.executemany(
                "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status) VALUES (?,?,?,?,?,?,?,?)",
                [(now, now, str(uuid.uuid4()), f"t{i}", "blender" if i < tasks_per_job - 1 else "ffmpeg", job, i + 1,
                  "queued") for i in range(tasks_per_job)])
        task_db.rebuild_derived(conn)
    db.conn.execute("ANALYZE")
    return worker


def baseline_seek(conn) -> None:
    """Raw SQLite: the first queued row of a plain partial index, nothing else."""
    conn.execute("SELECT id FROM bare_tasks WHERE status = 'queued' ORDER BY priority DESC, id LIMIT 1").fetchone()


def bench_queue() -> None:
    for n_jobs in (10, 3_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(Path(tmp) / "bench.sqlite")
            worker = populate_queue(db, n_jobs)
            conn = db.conn
            conn.execute("CREATE TABLE bare_tasks (id INTEGER PRIMARY KEY, status TEXT, priority INT)")
            conn.execute("INSERT INTO bare_tasks SELECT id, status, priority FROM tasks")
            conn.execute("CREATE INDEX bare_q ON bare_tasks(priority DESC, id) WHERE status = 'queued'")
            pick = timeit(lambda: scheduling.next_runnable_task(conn, worker, TYPES), repeat=500)
            bare = timeit(lambda: baseline_seek(conn), repeat=500)
            line = (f"scheduler, {n_jobs:6,} queued jobs of equal priority: pick {pick * 1e3:7.3f} ms, "
                    f"raw SQLite seek {bare * 1e3:7.3f} ms (ratio {pick / bare:5.1f})")
            print(line)
            LINES.append(line)
            db.close()


def bench_waiting() -> None:
    for n_waiting in (0, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(Path(tmp) / "bench.sqlite")
            worker = populate_queue(db, 1)
            now = utcnow()
            with db.tx() as conn:
                blocker = conn.execute(
                    "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status) "
                    "VALUES (?,?,?,?,?,?,?)", (now, now, str(uuid.uuid4()), "blocker", "x", 50, "paused")).lastrowid
                for j in range(n_waiting):
                    job = conn.execute(
                        "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status) "
                        "VALUES (?,?,?,?,?,?,?)", (now, now, str(uuid.uuid4()), f"w{j}", "x", 90, "queued")).lastrowid
                    conn.execute("INSERT INTO job_dependencies (job_id, dependency_id) VALUES (?, ?)", (job, blocker))
                    conn.executemany(
                        "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status) "
                        "VALUES (?,?,?,?,?,?,?,?)",
                        [(now, now, str(uuid.uuid4()), f"t{i}", "blender", job, i + 1, "queued") for i in range(10)])
                task_db.rebuild_derived(conn)
            db.conn.execute("ANALYZE")
            conn = db.conn
            assert scheduling.next_runnable_task(conn, worker, TYPES) is not None
            pick = timeit(lambda: scheduling.next_runnable_task(conn, worker, TYPES), repeat=500)
            line = (f"scheduler, 1 runnable job behind {n_waiting:6,} higher-priority jobs waiting for a job: "
                    f"pick {pick * 1e3:7.3f} ms")
            print(line)
            LINES.append(line)
            db.close()


LINES: list[str] = []


def main() -> None:
    LINES.clear()
    bench_queue()
    bench_waiting()
    for done_fraction in (0.0, 0.5, 0.99):
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(Path(tmp) / "bench.sqlite")
            worker = populate(db, 100_000, done_fraction)
            conn = db.conn
            walk = timeit(lambda: scheduling.next_runnable_task(conn, worker, TYPES))
            naive = timeit(lambda: conn.execute(NAIVE, {"worker": worker, "types": json.dumps(TYPES)}).fetchone(), repeat=5)
            same = scheduling.next_runnable_task(conn, worker, TYPES) == conn.execute(NAIVE, {"worker": worker, "types": json.dumps(TYPES)}).fetchone()[0]
            line = (f"scheduler, 100k tasks, {done_fraction:4.0%} done: pick {walk * 1e3:8.3f} ms, "
                    f"naive sort {naive * 1e3:8.1f} ms/pick ({naive / walk:,.0f}x slower), same answer: {same}")
            print(line)
            LINES.append(line)
            db.close()
    report.write_section("scheduler", "## Scheduler pick (`bench/bench_scheduler.py`)\n\n"
                         "The pick from `tasks_runnable` on a real SQLite file, in the benchmark's process; "
                         "the raw SQLite seek is one LIMIT-1 read of a plain partial index over the same rows.\n\n"
                         f"Machine: {report.machine_line()}\n\n```\n" + "\n".join(LINES) + "\n```")


if __name__ == "__main__":
    main()
