"""Migration 0003's farm-wide status counts stay equal to a full count, whatever writes the tables."""

from __future__ import annotations

import random
import uuid

from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import status_totals
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db import workers as worker_db
from flamenco_pkg.manager.db.connection import Database, utcnow

JOB_STATUSES = ["queued", "active", "paused", "completed", "failed", "canceled"]
TASK_STATUSES = ["queued", "active", "soft-failed", "completed", "failed", "canceled", "paused"]
WORKER_STATUSES = ["awake", "asleep", "offline", "error"]


def counted(conn) -> dict[str, dict[str, int]]:
    """What the kept totals must equal: full GROUP BY scans."""
    return {
        "job": dict(conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()),
        "task": dict(conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall()),
        "worker": dict(conn.execute(
            "SELECT status, COUNT(*) FROM workers WHERE deleted_at IS NULL GROUP BY status").fetchall()),
    }


def kept(conn) -> dict[str, dict[str, int]]:
    return {kind: {s: n for s, n in by.items() if n} for kind, by in status_totals.fetch(conn).items()}


def add_job(conn, n_tasks: int) -> int:
    job_id = job_db.insert_job(conn, uuid=str(uuid.uuid4()), name="j", job_type="x", priority=50, status="queued",
                               settings={}, metadata={}, worker_tag_id=None, shaman_checkout_id="",
                               created_at=utcnow())
    task_db.insert_tasks(conn, job_id, utcnow(), [
        {"uuid": str(uuid.uuid4()), "name": f"t{i}", "type": "misc", "priority": 50, "commands": [],
         "steps_total": 1} for i in range(n_tasks)])
    return job_id


def test_totals_follow_every_kind_of_write(tmp_path):
    db = Database(tmp_path / "totals.sqlite")
    rng = random.Random(13)
    with db.tx() as conn:
        jobs = [add_job(conn, rng.randint(1, 30)) for _ in range(12)]
        workers = [worker_db.insert_worker(conn, uuid=str(uuid.uuid4()), secret_hash="x", name=f"w{i}",
                                           address="", platform="linux", supported_task_types=["misc"])
                   for i in range(6)]
    with db.tx() as conn:
        assert kept(conn) == counted(conn)
        assert kept(conn)["worker"] == {"offline": 6}  # registered, never signed on
        task_ids = [r[0] for r in conn.execute("SELECT id FROM tasks")]
        for _ in range(300):
            conn.execute("UPDATE tasks SET status = ? WHERE id = ?",
                         (rng.choice(TASK_STATUSES), rng.choice(task_ids)))
        task_db.mass_set_status(conn, task_ids[:40], "canceled", "mass")
        for job_id in jobs[:6]:
            job_db.set_status(conn, job_id, rng.choice(JOB_STATUSES), "")
        for worker_id in workers:
            worker_db.set_status(conn, worker_id, rng.choice(WORKER_STATUSES))
        worker_db.soft_delete(conn, workers[0])
        conn.execute("DELETE FROM workers WHERE id = ?", (workers[1],))
        job_db.delete(conn, jobs[0])  # tasks and their per-job counts go by cascade
        assert kept(conn) == counted(conn)
    with db.tx() as conn:
        # Tools that fill tables with plain SQL rebuild the per-job counts; the totals follow.
        conn.execute("UPDATE tasks SET status = 'queued'")
        task_db.rebuild_derived(conn)
        assert kept(conn) == counted(conn)
    db.close()


def test_a_rolled_back_change_leaves_the_totals(tmp_path):
    db = Database(tmp_path / "totals.sqlite")
    with db.tx() as conn:
        add_job(conn, 5)
        before = kept(conn)
    try:
        with db.tx() as conn:
            conn.execute("UPDATE tasks SET status = 'completed'")
            raise RuntimeError("request failed")
    except RuntimeError:
        pass
    with db.tx() as conn:
        assert kept(conn) == before == {"job": {"queued": 1}, "task": {"queued": 5}, "worker": {}}
    db.close()
