"""The event broker: publishing never waits for a subscriber; order per subscriber (so per room) is kept."""

from __future__ import annotations

import logging

import gevent
import gevent.event

from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.events import Changes, EventBroker
from flamenco_pkg.manager.events.socketio import create_server

DEADLINE_S = 10


class Recorder:
    def __init__(self, gate: gevent.event.Event | None = None) -> None:
        self.got: list[tuple[str, str, dict]] = []
        self.gate = gate

    def __call__(self, event: str, room: str, payload: dict) -> None:
        if self.gate is not None:
            self.gate.wait()
        self.got.append((event, room, payload))


def test_publish_returns_before_any_subscriber_runs():
    broker = EventBroker()
    gate = gevent.event.Event()
    stuck = Recorder(gate)
    broker.subscribe(stuck, "stuck browser")
    for n in range(3):
        broker.publish("/jobs", "/jobs", {"n": n})  # would hang here if publish called the subscriber
    assert stuck.got == []
    gate.set()
    assert broker.flush(DEADLINE_S)
    assert [p["n"] for _, _, p in stuck.got] == [0, 1, 2]


def test_a_blocked_subscriber_delays_neither_publisher_nor_other_subscribers():
    broker = EventBroker()
    gate = gevent.event.Event()
    stuck, live = Recorder(gate), Recorder()
    broker.subscribe(stuck, "stuck")
    live_box = broker.subscribe(live, "live")
    for n in range(5):
        broker.publish("/task", f"/jobs/{n % 2}", {"n": n})
    assert live_box.idle.wait(DEADLINE_S)
    assert [p["n"] for _, _, p in live.got] == [0, 1, 2, 3, 4]
    assert stuck.got == []
    assert broker.flush(0.05) is False  # the stuck one has not caught up
    gate.set()
    assert broker.flush(DEADLINE_S)
    assert stuck.got == live.got


def test_order_per_room_is_the_publishing_order():
    broker = EventBroker()
    seen = Recorder()
    broker.subscribe(seen)

    def slow_then_fast(tag: str, delay: float) -> None:
        gevent.sleep(delay)
        for n in range(50):
            broker.publish("/task", f"/jobs/{tag}", {"tag": tag, "n": n})
            if n % 7 == 0:
                gevent.sleep(0)

    gevent.joinall([gevent.spawn(slow_then_fast, "a", 0.01), gevent.spawn(slow_then_fast, "b", 0)])
    assert broker.flush(DEADLINE_S)
    for tag in "ab":
        assert [p["n"] for _, room, p in seen.got if room == f"/jobs/{tag}"] == list(range(50))


def test_a_full_outbox_drops_the_oldest_and_says_so_once(caplog):
    broker = EventBroker(limit=3)
    gate = gevent.event.Event()
    stuck = Recorder(gate)
    box = broker.subscribe(stuck, "slow browser")
    caplog.set_level(logging.WARNING, logger="flamenco.events")
    broker.publish("/jobs", "/jobs", {"n": 0})
    gevent.sleep(0)  # the delivery greenlet takes event 0 and waits at the gate
    for n in range(1, 8):
        broker.publish("/jobs", "/jobs", {"n": n})
    assert box.dropped == 4
    gate.set()
    assert broker.flush(DEADLINE_S)
    assert [p["n"] for _, _, p in stuck.got] == [0, 5, 6, 7]
    warnings = [r.getMessage() for r in caplog.records if r.name == "flamenco.events"]
    assert len(warnings) == 2, warnings
    assert "slow browser" in warnings[0] and "dropping the oldest" in warnings[0]
    assert "caught up; 4 events were dropped" in warnings[1]


def test_a_failing_subscriber_is_logged_and_later_events_still_go_out(caplog):
    broker = EventBroker()
    got = []

    def flaky(event: str, room: str, payload: dict) -> None:
        if payload["n"] == 1:
            raise RuntimeError("browser went away")
        got.append(payload["n"])

    broker.subscribe(flaky, "flaky")
    for n in range(3):
        broker.publish("/jobs", "/jobs", {"n": n})
    assert broker.flush(DEADLINE_S)
    assert got == [0, 2]
    assert any("delivering event /jobs" in r.getMessage() for r in caplog.records)


def test_socketio_emits_from_the_broker_greenlet_in_order(monkeypatch):
    """The Socket.IO server gets its events from the broker, after publish returned, in order per room."""
    broker = EventBroker()
    sio = create_server(broker, Config)
    emitted = []
    monkeypatch.setattr(sio, "emit", lambda event, payload, room=None: emitted.append((event, room, payload)))
    changes = Changes()
    for n in range(4):
        changes.add("/task", "/jobs/x", {"n": n})
    for event, room, payload in changes.events:
        broker.publish(event, room, payload)
    assert emitted == []
    assert broker.flush(DEADLINE_S)
    assert [p["n"] for _, room, p in emitted if room == "/jobs/x"] == [0, 1, 2, 3]


def test_a_subscriber_gets_only_the_events_it_wants_in_order():
    broker = EventBroker()
    everything, tasks = Recorder(), Recorder()
    broker.subscribe(everything, "all")
    task_box = broker.subscribe(tasks, "tasks", wants="/task".__eq__)
    for n in range(6):
        broker.publish("/task" if n % 2 else "/tasklog", "/room", {"n": n})
    assert broker.flush(DEADLINE_S)
    assert [p["n"] for _, _, p in everything.got] == list(range(6))
    assert [(e, p["n"]) for e, _, p in tasks.got] == [("/task", 1), ("/task", 3), ("/task", 5)]
    assert task_box.dropped == 0


def test_a_late_subscriber_gets_the_events_published_after_it_joined():
    broker = EventBroker()
    early = Recorder()
    broker.subscribe(early, "early", wants="/jobs".__eq__)
    broker.publish("/jobs", "/jobs", {"n": 0})
    late = Recorder()
    broker.subscribe(late, "late", wants="/jobs".__eq__)
    broker.publish("/jobs", "/jobs", {"n": 1})
    assert broker.flush(DEADLINE_S)
    assert [p["n"] for _, _, p in early.got] == [0, 1]
    assert [p["n"] for _, _, p in late.got] == [1]


def test_a_killed_delivery_greenlet_is_replaced_on_the_next_event():
    broker = EventBroker()
    seen = Recorder()
    box = broker.subscribe(seen, "seen")
    broker.publish("/jobs", "/jobs", {"n": 0})
    assert broker.flush(DEADLINE_S)
    box._greenlet.kill()  # noqa: SLF001 — as at a hub shutdown or by a stray kill
    broker.publish("/jobs", "/jobs", {"n": 1})
    assert broker.flush(DEADLINE_S)
    assert [p["n"] for _, _, p in seen.got] == [0, 1]
