"""Task run times (started_at / finished_at): the pure rule and its application on a real SQLite file."""

from __future__ import annotations

import uuid

import pytest

from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db.connection import Database, utcnow
from flamenco_pkg.manager.events import Changes
from flamenco_pkg.manager.state_machine.apply import change_job_status, change_task_status
from flamenco_pkg.manager.state_machine.rules import TaskClock, task_clock


@pytest.mark.parametrize("old,new,clock", [
    ("queued", "active", TaskClock.START),
    ("soft-failed", "active", TaskClock.START),
    ("active", "completed", TaskClock.FINISH),
    ("active", "failed", TaskClock.FINISH),
    ("active", "soft-failed", TaskClock.FINISH),
    ("active", "canceled", TaskClock.FINISH),
    ("active", "paused", TaskClock.FINISH),
    ("active", "queued", TaskClock.CLEAR),
    ("completed", "queued", TaskClock.CLEAR),
    ("failed", "queued", TaskClock.CLEAR),
    ("queued", "canceled", TaskClock.KEEP),
    ("completed", "completed", TaskClock.KEEP),
    ("active", "active", TaskClock.KEEP),
    (None, "canceled", TaskClock.FINISH_IF_ACTIVE),
    (None, "paused", TaskClock.FINISH_IF_ACTIVE),
    (None, "queued", TaskClock.CLEAR),
])
def test_task_clock(old, new, clock):
    assert task_clock(old, new) == clock


def test_task_clock_refuses_unknown_status():
    with pytest.raises(ValueError):
        task_clock("queued", "rendering")


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "times.sqlite")
    yield database
    database.close()


def _job(conn, n: int = 3) -> tuple[int, list[int]]:
    jid = job_db.insert_job(conn, uuid=str(uuid.uuid4()), name="j", job_type="x", priority=50, status="queued",
                            settings={}, metadata={}, worker_tag_id=None, shaman_checkout_id="", created_at=utcnow())
    ids = task_db.insert_tasks(conn, jid, utcnow(), [
        {"uuid": str(uuid.uuid4()), "name": f"t{i}", "type": "misc", "priority": 50, "commands": [], "steps_total": 1}
        for i in range(n)])
    return jid, list(ids.values())


def _times(conn, task_id: int) -> tuple[str | None, str | None]:
    row = task_db.fetch_by_id(conn, task_id)
    return row["started_at"], row["finished_at"]


def _set(conn, task_id: int, status: str) -> Changes:
    changes = Changes()
    change_task_status(conn, changes, task_db.fetch_by_id(conn, task_id), status)
    return changes


def test_a_run_is_timed_and_a_requeue_clears_it(db):
    conn = db.conn
    _jid, (a, _b, _c) = _job(conn)
    assert _times(conn, a) == (None, None)
    changes = _set(conn, a, "active")
    started, finished = _times(conn, a)
    assert started and finished is None
    event = next(p for name, _room, p in changes.events if name == "/task")
    assert event["started_at"].endswith("Z") and "finished_at" not in event

    changes = _set(conn, a, "completed")
    assert _times(conn, a)[0] == started
    assert _times(conn, a)[1] >= started
    event = next(p for name, _room, p in changes.events if name == "/task")
    assert "started_at" in event and "finished_at" in event

    _set(conn, a, "queued")
    assert _times(conn, a) == (None, None)


def test_a_second_run_starts_afresh(db):
    conn = db.conn
    _jid, (a, *_rest) = _job(conn)
    _set(conn, a, "active")
    _set(conn, a, "soft-failed")
    first_finish = _times(conn, a)[1]
    assert first_finish is not None
    _set(conn, a, "active")
    started, finished = _times(conn, a)
    assert finished is None and started >= first_finish


def test_job_cancel_ends_only_the_running_task(db):
    conn = db.conn
    jid, (a, b, c) = _job(conn)
    _set(conn, a, "active")
    _set(conn, a, "completed")
    done = _times(conn, a)
    _set(conn, b, "active")
    change_job_status(conn, Changes(), jid, "cancel-requested", "test")
    assert task_db.fetch_by_id(conn, b)["status"] == "canceled"
    started, finished = _times(conn, b)
    assert started and finished and finished >= started
    assert _times(conn, a) == done  # completed tasks are not touched by a cancel
    assert _times(conn, c) == (None, None)  # never ran


def test_job_requeue_clears_every_requeued_task(db):
    conn = db.conn
    jid, ids = _job(conn)
    for task_id in ids:
        _set(conn, task_id, "active")
        _set(conn, task_id, "completed")
    assert job_db.fetch_by_id(conn, jid)["status"] == "completed"
    change_job_status(conn, Changes(), jid, "requeueing", "test")
    assert all(_times(conn, task_id) == (None, None) for task_id in ids)
