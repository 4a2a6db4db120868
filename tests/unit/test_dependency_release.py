"""Dependents of a task with many of them are released in batches (migration 0009), never early.

Real SQLite files; the batches are driven by hand, so every state between
two batches is looked at.
"""

from __future__ import annotations

import uuid

import pytest

from flamenco_pkg.manager.db import dependencies
from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import scheduling
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db import workers as worker_db
from flamenco_pkg.manager.db.connection import Database, utcnow

FAN_OUT = 1500  # above the 1000 that are still released in the completing transaction


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "deps.sqlite")
    yield database
    database.close()


def add_job(conn, n_dependents: int, status: str = "queued") -> tuple[int, int, list[int]]:
    """A job of one "first" task and `n_dependents` tasks that depend on it."""
    job_id = job_db.insert_job(conn, uuid=str(uuid.uuid4()), name="j", job_type="x", priority=50, status=status,
                               settings={}, metadata={}, worker_tag_id=None, shaman_checkout_id="",
                               created_at=utcnow())
    ids = list(task_db.insert_tasks(conn, job_id, utcnow(), [
        {"uuid": str(uuid.uuid4()), "name": f"t{i}", "type": "misc", "priority": 50, "commands": [],
         "steps_total": 1} for i in range(n_dependents + 1)]).values())
    task_db.insert_dependencies(conn, [(t, ids[0]) for t in ids[1:]])
    return job_id, ids[0], ids[1:]


def worker(conn) -> int:
    return worker_db.insert_worker(conn, uuid=str(uuid.uuid4()), secret_hash="x", name="w", address="",
                                   platform="linux", supported_task_types=["misc"], status="awake")


def pending_counts(conn, ids: list[int]) -> dict[int, int]:
    marks = ",".join("?" * len(ids))
    return dict(conn.execute(f"SELECT id, deps_pending FROM tasks WHERE id IN ({marks})", ids).fetchall())


def runnable(conn, ids: list[int]) -> set[int]:
    marks = ",".join("?" * len(ids))
    return {r[0] for r in conn.execute(
        f"""SELECT id FROM tasks INDEXED BY tasks_runnable WHERE id IN ({marks})
            AND status IN ('queued', 'soft-failed') AND deps_pending = 0 AND job_schedulable = 1""", ids)}


def test_a_small_fan_out_is_released_in_the_completing_transaction(db):
    with db.tx() as conn:
        _, first, dependents = add_job(conn, 10)
        task_db.set_status(conn, first, "completed")
        assert runnable(conn, dependents) == set(dependents)
        assert not dependencies.pending(conn)


def test_a_big_fan_out_is_released_batch_by_batch_and_never_early(db):
    with db.tx() as conn:
        _, first, dependents = add_job(conn, FAN_OUT)
        w = worker(conn)
        task_db.set_status(conn, first, "active")
        assert scheduling.next_runnable_task(conn, w, ["misc"]) is None  # all wait for `first`
        task_db.set_status(conn, first, "completed")
        # Completed, but nothing released yet: the dependents still count it.
        assert set(pending_counts(conn, dependents).values()) == {1}
        assert scheduling.next_runnable_task(conn, w, ["misc"]) is None
    released_so_far: list[int] = []
    while True:
        with db.tx() as conn:
            released = dependencies.release_some(conn, 400)
            free = runnable(conn, dependents)
        released_so_far += sorted(free - set(released_so_far))
        assert len(free) == len(released_so_far)
        assert free == set(dependents[:len(free)])  # in order, each exactly once
        if released < 400:
            break
    with db.tx() as conn:
        assert runnable(conn, dependents) == set(dependents)
        assert not dependencies.pending(conn)
        assert set(pending_counts(conn, dependents).values()) == {0}


def test_requeueing_the_dependency_half_way_blocks_every_dependent_at_once(db):
    with db.tx() as conn:
        _, first, dependents = add_job(conn, FAN_OUT)
        w = worker(conn)
        task_db.set_status(conn, first, "completed")
        assert dependencies.release_some(conn, 600) == 600
        assert len(runnable(conn, dependents)) == 600
        task_db.set_status(conn, first, "queued")  # not complete any more
        assert runnable(conn, dependents) == set()
        assert scheduling.next_runnable_task(conn, w, ["misc"]) == first
    # The release still in progress finishes; the counts end right: 1 pending each.
    with db.tx() as conn:
        while dependencies.release_some(conn, 600) == 600:
            assert runnable(conn, dependents) == set()
        assert set(pending_counts(conn, dependents).values()) == {1}
        # Completed again: a new release, and afterwards all are free.
        task_db.set_status(conn, first, "completed")
        assert runnable(conn, dependents) == set()
        while dependencies.release_some(conn, 1000) == 1000:
            pass
        assert runnable(conn, dependents) == set(dependents)


def test_rebuild_derived_drops_queued_releases_and_recounts(db):
    with db.tx() as conn:
        _, first, dependents = add_job(conn, FAN_OUT)
        task_db.set_status(conn, first, "completed")
        assert dependencies.pending(conn)
        task_db.rebuild_derived(conn)
        assert not dependencies.pending(conn)
        assert runnable(conn, dependents) == set(dependents)


def test_deleting_the_dependency_drops_its_release(db):
    with db.tx() as conn:
        job_id, first, _ = add_job(conn, FAN_OUT)
        task_db.set_status(conn, first, "completed")
        while task_db.delete_some_of_job(conn, job_id, 500) == 500:
            pass
        assert not dependencies.pending(conn)


def test_unscheduling_a_job_in_batches_then_marking_it(db):
    with db.tx() as conn:
        job_id, first, dependents = add_job(conn, 50)
        other_job, other_first, _ = add_job(conn, 5)
        task_db.set_status(conn, first, "completed")
    after, seen = 0, 0
    while True:
        with db.tx() as conn:
            looked_at, after = task_db.unschedule_some_of_job(conn, job_id, "queued", after, 20)
        seen += looked_at
        if looked_at < 20:
            break
    assert seen == 50  # the completed first task is not looked at
    with db.tx() as conn:
        assert runnable(conn, dependents) == set()
        assert runnable(conn, [other_first]) == {other_first}  # another job is left alone
        # A task requeued after its batch is caught when the job is marked.
        conn.execute("UPDATE tasks SET status = 'active' WHERE id = ?", (dependents[0],))
        conn.execute("UPDATE jobs SET status = 'active' WHERE id = ?", (job_id,))
        conn.execute("UPDATE tasks SET status = 'queued' WHERE id = ?", (dependents[0],))
        assert runnable(conn, dependents) == {dependents[0]}
        job_db.request_deletion(conn, job_id)
        assert runnable(conn, dependents) == set()


def test_the_release_loop_frees_the_dependents_after_a_completion_event(tmp_path, db):
    """The loop, woken by the completion's event, releases every dependent in batches and wakes waiters."""
    import gevent

    from flamenco_pkg.manager.config import Config
    from flamenco_pkg.manager.context import Manager
    from flamenco_pkg.manager.job_types import JobTypeRegistry
    from flamenco_pkg.manager.local_storage.task_logs import TaskLogs
    from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogWriter
    from flamenco_pkg.manager.loops import dependency_release
    from flamenco_pkg.manager.state_machine.apply import change_task_status

    manager = Manager(config=Config(), config_path=tmp_path / "flamenco-manager.yaml", db=db,
                      job_types=JobTypeRegistry(None), task_logs=TaskLogWriter(TaskLogs(tmp_path / "storage")))
    with db.tx() as conn:
        _, first, dependents = add_job(conn, FAN_OUT)
    woken = []
    manager.waiters.work_available = lambda: woken.append(True)
    loop = dependency_release.start(manager)
    try:
        with manager.change() as (conn, changes):
            change_task_status(conn, changes, task_db.fetch_by_id(conn, first), "active")
        with manager.change() as (conn, changes):
            change_task_status(conn, changes, task_db.fetch_by_id(conn, first), "completed")
        with gevent.Timeout(20):
            while True:
                with db.peek() as conn:
                    if runnable(conn, dependents) == set(dependents):
                        break
                gevent.sleep(0.01)
        with db.peek() as conn:
            assert not dependencies.pending(conn)
        assert woken
    finally:
        loop.kill()
