"""Scheduler choice on a real SQLite file: every filter and ordering rule."""

from __future__ import annotations

import uuid

import pytest

from bench.bench_scheduler import NAIVE
from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import scheduling
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db import workers as worker_db
from flamenco_pkg.manager.db.connection import Database, utcnow

TYPES = ["blender", "ffmpeg", "misc"]


class Farm:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn = db.conn

    def worker(self, types=TYPES, tags=()) -> int:
        wid = worker_db.insert_worker(self.conn, uuid=str(uuid.uuid4()), secret_hash="x", name="w",
                                      address="", platform="linux", supported_task_types=list(types), status="awake")
        for tag in tags:
            self.conn.execute("INSERT INTO worker_tag_membership (worker_tag_id, worker_id) VALUES (?, ?)", (tag, wid))
        return wid

    def tag(self, name: str) -> int:
        cur = self.conn.execute("INSERT INTO worker_tags (created_at, uuid, name) VALUES (?, ?, ?)",
                                (utcnow(), str(uuid.uuid4()), name))
        return cur.lastrowid

    def job(self, priority=50, status="queued", tag=None, tasks=(("t", "blender", 50),)) -> tuple[int, list[int]]:
        jid = job_db.insert_job(self.conn, uuid=str(uuid.uuid4()), name="j", job_type="x", priority=priority,
                                status=status, settings={}, metadata={}, worker_tag_id=tag,
                                shaman_checkout_id="", created_at=utcnow())
        ids = task_db.insert_tasks(self.conn, jid, utcnow(), [
            {"uuid": str(uuid.uuid4()), "name": n, "type": t, "priority": p, "commands": [], "steps_total": 1}
            for n, t, p in tasks])
        return jid, list(ids.values())

    def status(self, task_id: int, status: str) -> None:
        self.conn.execute("UPDATE tasks SET status = ? WHERE id = ?", (status, task_id))

    def pick(self, worker: int, types=TYPES) -> int | None:
        return scheduling.next_runnable_task(self.conn, worker, types)


@pytest.fixture
def farm(tmp_path) -> Farm:
    db = Database(tmp_path / "sched.sqlite")
    yield Farm(db)
    db.close()


def test_only_queued_and_soft_failed_tasks(farm):
    w = farm.worker()
    _, (a, b, c) = farm.job(tasks=[("a", "blender", 50), ("b", "blender", 50), ("c", "blender", 50)])
    for status in ("active", "completed", "failed", "canceled", "paused"):
        farm.status(a, status)
        farm.status(b, status)
        assert farm.pick(w) == c
    farm.status(b, "soft-failed")
    assert farm.pick(w) == b


@pytest.mark.parametrize("job_status,runnable", [
    ("queued", True), ("active", True), ("paused", False), ("pause-requested", False), ("completed", False),
    ("failed", False), ("canceled", False), ("cancel-requested", False), ("requeueing", False),
    ("under-construction", False)])
def test_only_queued_and_active_jobs(farm, job_status, runnable):
    w = farm.worker()
    _, (t,) = farm.job(status=job_status)
    assert farm.pick(w) == (t if runnable else None)


def test_task_type_must_be_supported(farm):
    w = farm.worker(types=["ffmpeg"])
    _, (render, video) = farm.job(tasks=[("r", "blender", 50), ("v", "ffmpeg", 50)])
    assert farm.pick(w, ["ffmpeg"]) == video
    assert farm.pick(w, ["misc"]) is None


def test_worker_that_failed_a_task_does_not_get_it_again(farm):
    w1, w2 = farm.worker(), farm.worker()
    _, (t, u) = farm.job(tasks=[("t", "blender", 50), ("u", "blender", 50)])
    farm.status(t, "soft-failed")
    task_db.add_failure(farm.conn, t, w1)
    assert farm.pick(w1) == u
    assert farm.pick(w2) == t


def test_dependencies_must_be_completed(farm):
    w = farm.worker()
    _, (first, second) = farm.job(tasks=[("first", "blender", 40), ("second", "blender", 90)])
    task_db.insert_dependencies(farm.conn, [(second, first)])
    assert farm.pick(w) == first
    farm.status(first, "active")
    assert farm.pick(w) is None
    farm.status(first, "completed")
    assert farm.pick(w) == second


def test_blocklisted_worker_skips_that_job_and_type(farm):
    w = farm.worker()
    blocked_job, (r, v) = farm.job(priority=90, tasks=[("r", "blender", 50), ("v", "ffmpeg", 50)])
    _, (other,) = farm.job(priority=10)
    worker_db.add_block(farm.conn, blocked_job, w, "blender")
    assert farm.pick(w) == v
    farm.status(v, "completed")
    assert farm.pick(w) == other


def test_worker_tags(farm):
    gpu = farm.tag("gpu")
    tagged_worker = farm.worker(tags=[gpu])
    plain_worker = farm.worker()
    _, (tagged_task,) = farm.job(priority=90, tag=gpu)
    _, (plain_task,) = farm.job(priority=10)
    assert farm.pick(tagged_worker) == tagged_task  # tagged jobs go to workers with the tag
    assert farm.pick(plain_worker) == plain_task    # untagged workers only get untagged jobs
    farm.status(tagged_task, "completed")
    assert farm.pick(tagged_worker) == plain_task   # untagged jobs go to anyone


def test_job_priority_beats_task_priority(farm):
    w = farm.worker()
    _, (low,) = farm.job(priority=10, tasks=[("low-job-high-task", "blender", 100)])
    _, (high,) = farm.job(priority=90, tasks=[("high-job-low-task", "blender", 0)])
    assert farm.pick(w) == high


def test_task_priority_orders_across_jobs_of_equal_priority(farm):
    w = farm.worker()
    _, (older,) = farm.job(priority=50, tasks=[("older", "blender", 50)])
    _, (urgent,) = farm.job(priority=50, tasks=[("urgent", "blender", 80)])
    assert farm.pick(w) == urgent


def test_task_priority_across_types_within_a_job(farm):
    w = farm.worker()
    _, (render, video) = farm.job(tasks=[("r", "blender", 50), ("v", "ffmpeg", 70)])
    assert farm.pick(w) == video


def test_ties_go_to_the_oldest_task(farm):
    w = farm.worker()
    _, (a, b) = farm.job(tasks=[("a", "blender", 50), ("b", "misc", 50)])
    _, (c,) = farm.job()
    assert farm.pick(w) == a
    farm.status(a, "completed")
    assert farm.pick(w) == b
    farm.status(b, "completed")
    assert farm.pick(w) == c


def test_already_active_task_is_handed_out_again(farm):
    w = farm.worker()
    _, (t, u) = farm.job(tasks=[("t", "blender", 50), ("u", "blender", 50)])
    task_db.change_status(farm.conn, u, "active", clock="start", worker_id=w)
    assert scheduling.already_active_task(farm.conn, w) == u
    assert scheduling.already_active_task(farm.conn, farm.worker()) is None


def test_integrity_check_and_checkpoint(farm, tmp_path):
    from flamenco_pkg.manager.db.connection import DatabaseError

    farm.db.check_integrity()
    assert farm.db.checkpoint() is True
    # A task pointing at a job that does not exist is found by the check.
    farm.conn.execute("PRAGMA foreign_keys = OFF")
    farm.conn.execute("INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status) "
                      "VALUES ('x', 'x', 'u', 'n', 't', 999, 1, 'queued')")
    with pytest.raises(DatabaseError, match="pointing at missing rows"):
        farm.db.check_integrity()


# --- The runnable index (issue 9): same choices, cost independent of the queue ---


def _vm_steps(conn, fn) -> int:
    """SQLite virtual-machine steps (in units of 100) that `fn` makes: a cost that does not depend on the machine."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(count, 100)
    try:
        fn()
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0]


def _queue_jobs(farm: Farm, n: int, *, status: str = "queued", tag=None) -> None:
    for _ in range(n):
        farm.job(status=status, tag=tag, tasks=[("r1", "blender", 50), ("r2", "blender", 50)])


def test_pick_cost_does_not_grow_with_queued_jobs(farm):
    w = farm.worker()
    _queue_jobs(farm, 10)
    small = _vm_steps(farm.conn, lambda: farm.pick(w))
    _queue_jobs(farm, 3000)
    big = _vm_steps(farm.conn, lambda: farm.pick(w))
    assert big <= small + 2, (small, big)


def test_pick_cost_does_not_grow_with_jobs_this_worker_cannot_run(farm):
    w = farm.worker(types=["blender"])
    gpu = farm.tag("gpu")
    _, (mine,) = farm.job(priority=10)
    small = _vm_steps(farm.conn, lambda: farm.pick(w, types=["blender"]))
    # Higher-priority work it may not take: paused jobs, another tag's jobs, other task types,
    # and tasks waiting for a dependency.
    _queue_jobs(farm, 500, status="paused")
    _queue_jobs(farm, 500, tag=gpu)
    for _ in range(500):
        farm.job(priority=90, tasks=[("v", "ffmpeg", 50)])
    for _ in range(500):
        _, (a, b) = farm.job(priority=90, tasks=[("a", "misc", 50), ("b", "blender", 50)])
        task_db.insert_dependencies(farm.conn, [(b, a)])
    assert farm.pick(w, types=["blender"]) == mine
    big = _vm_steps(farm.conn, lambda: farm.pick(w, types=["blender"]))
    assert big <= small + 2, (small, big)


def test_job_changes_reach_the_index(farm):
    w = farm.worker()
    gpu = farm.tag("gpu")
    j1, (t1,) = farm.job(priority=50)
    j2, (t2,) = farm.job(priority=50)
    assert farm.pick(w) == t1
    job_db.set_priority(farm.conn, j2, 60)
    assert farm.pick(w) == t2
    job_db.set_status(farm.conn, j2, "paused", "")
    assert farm.pick(w) == t1
    job_db.set_status(farm.conn, j2, "queued", "")
    assert farm.pick(w) == t2
    job_db.set_worker_tag(farm.conn, j2, gpu)
    assert farm.pick(w) == t1
    job_db.request_deletion(farm.conn, j1)
    assert farm.pick(w) is None
    farm.conn.execute("DELETE FROM worker_tags WHERE id = ?", (gpu,))  # the job loses its tag
    assert farm.pick(w) == t2


def test_requeued_task_takes_its_jobs_current_values(farm):
    w = farm.worker()
    j1, (a,) = farm.job(priority=50)
    _, (b,) = farm.job(priority=60)
    farm.status(a, "active")
    job_db.set_priority(farm.conn, j1, 90)  # changed while the task was not runnable
    farm.status(a, "queued")
    assert farm.pick(w) == a


def test_dependency_requeued_blocks_its_dependents_again(farm):
    w = farm.worker()
    _, (first, second) = farm.job(tasks=[("first", "blender", 40), ("second", "blender", 90)])
    task_db.insert_dependencies(farm.conn, [(second, first)])
    farm.status(first, "completed")
    assert farm.pick(w) == second
    farm.status(first, "queued")
    assert farm.pick(w) == first


def test_job_counts_are_kept_as_statuses_change(farm):
    import random

    rng = random.Random(7)
    jid, ids = farm.job(tasks=[(f"t{i}", "blender", 50) for i in range(200)])
    statuses = ["queued", "active", "completed", "failed", "soft-failed", "canceled", "paused"]
    for _ in range(1000):
        farm.status(rng.choice(ids), rng.choice(statuses))
    task_db.mass_set_status(farm.conn, ids[:50], "queued", "")
    recounted = dict(farm.conn.execute(
        "SELECT status, COUNT(*) FROM tasks WHERE job_id = ? GROUP BY status", (jid,)).fetchall())
    assert dict(job_db.status_and_task_counts(farm.conn, jid)[1]) == recounted


# --- Job -> job dependencies (issue 16): waiting jobs stay out of the index ---


def _depend(farm: Farm, job: int, on: list[int]) -> None:
    from flamenco_pkg.manager.db import job_dependencies as dep_db
    dep_db.insert(farm.conn, job, on)


def test_waiting_job_is_not_runnable_until_its_dependency_completes(farm):
    w = farm.worker()
    a, (ta,) = farm.job(priority=10)
    b, (tb,) = farm.job(priority=90)
    _depend(farm, b, [a])
    assert farm.pick(w) == ta
    job_db.set_status(farm.conn, a, "active", "")
    farm.status(ta, "active")
    assert farm.pick(w) is None  # b waits; a's only task is running
    farm.status(ta, "completed")
    job_db.set_status(farm.conn, a, "completed", "")
    assert farm.pick(w) == tb
    job_db.set_status(farm.conn, a, "requeueing", "")  # a dependency requeued: b waits again
    assert farm.pick(w) is None
    job_db.set_status(farm.conn, a, "completed", "")
    assert farm.pick(w) == tb


def test_tasks_added_to_a_waiting_job_are_not_runnable(farm):
    w = farm.worker()
    a, _ = farm.job(priority=10, status="paused")
    b, _ = farm.job(priority=90, tasks=())
    _depend(farm, b, [a])
    task_db.insert_tasks(farm.conn, b, utcnow(), [
        {"uuid": str(uuid.uuid4()), "name": "late", "type": "blender", "priority": 50, "commands": [],
         "steps_total": 1}])
    assert farm.pick(w) is None


def test_rebuild_derived_counts_pending_job_dependencies(farm):
    w = farm.worker()
    a, _ = farm.job(priority=10, status="paused")
    b, (tb,) = farm.job(priority=90)
    _depend(farm, b, [a])
    farm.conn.execute("UPDATE jobs SET deps_pending = 0 WHERE id = ?", (b,))  # a tool's plain SQL
    farm.conn.execute("UPDATE tasks SET job_schedulable = 1 WHERE id = ?", (tb,))
    task_db.rebuild_derived(farm.conn)
    assert farm.pick(w) is None
    job_db.set_status(farm.conn, a, "completed", "")
    assert farm.pick(w) == tb


def test_pick_cost_does_not_grow_with_waiting_jobs(farm):
    w = farm.worker(types=["blender"])
    _, (mine,) = farm.job(priority=10)
    blocker, _ = farm.job(priority=10, status="paused")
    small = _vm_steps(farm.conn, lambda: farm.pick(w, types=["blender"]))
    # 3,000 higher-priority jobs waiting for a job that is not completed.
    for _ in range(3000):
        job, _tasks = farm.job(priority=90, tasks=[("r1", "blender", 50), ("r2", "blender", 50)])
        _depend(farm, job, [blocker])
    assert farm.pick(w, types=["blender"]) == mine
    big = _vm_steps(farm.conn, lambda: farm.pick(w, types=["blender"]))
    assert big <= small + 2, (small, big)
    waiting_in_index = farm.conn.execute(
        "SELECT COUNT(*) FROM tasks INDEXED BY tasks_runnable WHERE status IN ('queued', 'soft-failed') "
        "AND deps_pending = 0 AND job_schedulable = 1").fetchone()[0]
    assert waiting_in_index == 1  # only `mine`: the index never holds a waiting job's tasks


# --- The hand-out's one-statement reads (issue 9): same answers as the separate reads ---

# The reference: every runnable task sorted, no index (the same query the scheduler benchmark times).



def test_pick_task_agrees_with_a_plain_sort_of_every_runnable_task(farm):
    """Random farms (priorities, tags, types, blocks, failures, dependencies): the compound pick
    returns the task a full sort would, as the whole row `fetch_by_id` reads."""
    import json
    import random

    rng = random.Random(11)
    tags = [farm.tag(f"tag{i}") for i in range(3)]
    workers = [farm.worker(types=rng.sample(TYPES, rng.randint(1, 3)), tags=rng.sample(tags, rng.randint(0, 2)))
               for _ in range(6)]
    all_tasks = []
    for _ in range(12):
        jid, ids = farm.job(priority=rng.choice([10, 50, 50, 90]), status=rng.choice(["queued", "active", "paused"]),
                            tag=rng.choice([None, None, *tags]),
                            tasks=[(f"t{i}", rng.choice(TYPES), rng.choice([40, 50, 60])) for i in range(8)])
        all_tasks += ids
        if rng.random() < 0.3:
            worker_db.add_block(farm.conn, jid, rng.choice(workers), rng.choice(TYPES))
    for task in rng.sample(all_tasks, 10):
        task_db.add_failure(farm.conn, task, rng.choice(workers))
    task_db.insert_dependencies(farm.conn, [(rng.choice(all_tasks[:40]), rng.choice(all_tasks[40:])) for _ in range(8)])
    picks = 0
    for _ in range(60):
        for w in workers:
            worker, worker_tags, active = scheduling.worker_for_pick(farm.conn, w)
            assert dict(worker_db.fetch_by_id(farm.conn, w)).items() <= dict(worker).items()
            assert sorted(worker_tags) == sorted(worker_db.tag_ids(farm.conn, w))
            assert active == scheduling.already_active_task(farm.conn, w)
            types = worker_db.split_types(worker["supported_task_types"])
            expected = farm.conn.execute(NAIVE, {"worker": w, "types": json.dumps(types)}).fetchone()
            row = scheduling.pick_task(farm.conn, w, types, worker_tags)
            assert (row and row["id"]) == (expected and expected[0])
            assert scheduling.next_runnable_task(farm.conn, w, types) == (expected and expected[0])
            if row is not None:
                assert dict(row) == dict(task_db.fetch_by_id(farm.conn, row["id"]))
                farm.status(row["id"], rng.choice(["active", "completed", "failed", "soft-failed"]))
                picks += 1
    assert picks > 20


def test_counts_read_with_a_task_give_the_counts_after_its_change(farm):
    """`fetch_with_job_counts` before one task's status change, moved by that change, equals a
    read after it: what a Worker's report relies on instead of reading the counts again."""
    import random

    rng = random.Random(5)
    jid, ids = farm.job(tasks=[(f"t{i}", "blender", 50) for i in range(30)])
    uuids = dict(farm.conn.execute("SELECT id, uuid FROM tasks WHERE job_id = ?", (jid,)).fetchall())
    statuses = ["queued", "active", "completed", "failed", "soft-failed", "canceled", "paused"]
    for _ in range(300):
        task, before = task_db.fetch_with_job_counts(farm.conn, uuids[rng.choice(ids)])
        assert before == job_db.status_and_task_counts(farm.conn, jid)[1]
        new = rng.choice(statuses)
        task_db.change_status(farm.conn, task["id"], new, clock="keep")
        before[task["status"]] -= 1
        before[new] += 1
        assert +before == job_db.status_and_task_counts(farm.conn, jid)[1]
