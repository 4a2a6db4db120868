"""The upstream buffer: order kept, nothing lost, delivered once the Manager is back."""

from __future__ import annotations

import sqlite3

import pytest

from flamenco_pkg.worker.buffer import Sent, UpstreamBuffer
from flamenco_pkg.worker.client import Unreachable


class Resp:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.text = ""

    def json(self):
        return {"code": self.status_code, "message": "nope"}


class FakeManager:
    """Answers task updates with 204 while up; records what it received."""

    def __init__(self) -> None:
        self.up = True
        self.received: list[tuple[str, dict]] = []
        self.status = 204

    def call(self, method, path, *, json=None, timeout=None, **_kw):
        if not self.up:
            raise Unreachable("connection refused")
        self.received.append((path, json))
        return Resp(self.status)


@pytest.fixture
def manager():
    return FakeManager()


@pytest.fixture
def buffer(tmp_path, manager):
    buf = UpstreamBuffer(tmp_path / "flamenco-worker.sqlite", manager)
    yield buf


def test_updates_go_straight_through_while_the_manager_is_up(buffer, manager):
    assert buffer.send("t1", {"log": "a"}) is Sent.DELIVERED
    assert manager.received == [("task/t1", {"log": "a"})]
    assert buffer.count() == 0


def test_unreachable_manager_queues_and_later_updates_keep_their_place(buffer, manager):
    assert buffer.send("t1", {"activity": "Started", "taskStatus": "active"}) is Sent.DELIVERED
    manager.up = False
    assert buffer.send("t1", {"log": "line 1"}) is Sent.QUEUED
    manager.up = True
    # The Manager is back, but an update is waiting: this one must not overtake it.
    assert buffer.send("t1", {"log": "line 2"}) is Sent.QUEUED
    assert buffer.send("t1", {"activity": "Completed", "taskStatus": "completed"}) is Sent.QUEUED
    assert len(manager.received) == 1
    assert buffer.flush() is True
    assert [body for _path, body in manager.received] == [
        {"activity": "Started", "taskStatus": "active"}, {"log": "line 1"}, {"log": "line 2"},
        {"activity": "Completed", "taskStatus": "completed"}]
    assert buffer.count() == 0


def test_flush_stops_at_the_first_unreachable_and_keeps_the_rest(buffer, manager):
    manager.up = False
    for i in range(3):
        buffer.send("t1", {"log": f"{i}"})
    assert buffer.flush() is False
    assert buffer.count() == 3


def test_queue_survives_a_worker_restart(tmp_path, manager):
    path = tmp_path / "flamenco-worker.sqlite"
    manager.up = False
    first = UpstreamBuffer(path, manager)
    first.send("t9", {"log": "before the restart"})
    first.close(final_flush_s=0.2)
    manager.up = True
    second = UpstreamBuffer(path, manager)
    assert second.count() == 1
    assert second.flush()
    assert manager.received == [("task/t9", {"log": "before the restart"})]
    row = sqlite3.connect(path).execute("SELECT count(*) FROM task_updates").fetchone()
    assert row == (0,)


def test_refusals_are_reported_not_queued(buffer, manager):
    manager.status = 409
    assert buffer.send("t1", {"log": "x"}) is Sent.REASSIGNED
    manager.status = 500
    assert buffer.send("t1", {"log": "x"}) is Sent.REJECTED
    assert "code 500" in buffer.last_rejection
    assert buffer.count() == 0


def test_a_queued_update_the_manager_refuses_is_dropped_not_retried(buffer, manager):
    manager.up = False
    buffer.send("t1", {"log": "late"})
    buffer.send("t1", {"log": "later"})
    manager.up, manager.status = True, 409
    assert buffer.flush() is True
    assert len(manager.received) == 2


def test_unreadable_rows_are_dropped(buffer, manager, tmp_path):
    with buffer._db:
        buffer._db.execute("INSERT INTO task_updates (created_at, task_id, payload) VALUES ('x', 't', ?)",
                           (b"{not json",))
    buffer.send("t1", {"log": "ok"})
    assert buffer.flush()
    assert manager.received == [("task/t1", {"log": "ok"})]
