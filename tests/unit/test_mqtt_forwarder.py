"""The MQTT forwarder's queue, and paho under the Manager's gevent monkey-patching."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from flamenco_pkg.manager.config import MQTTClientConfig
from flamenco_pkg.manager.metrics import Metrics
from flamenco_pkg.manager.mqtt.forwarder import QUEUE_LIMIT, MqttForwarder

REPO = Path(__file__).resolve().parents[2]


def test_the_queue_keeps_the_newest_and_counts_drops():
    metrics = Metrics()
    fwd = MqttForwarder(metrics, MQTTClientConfig(enabled=True, broker="tcp://127.0.0.1:1883"))
    for i in range(QUEUE_LIMIT + 25):
        fwd.offer("/jobs", "/jobs", {"i": i})
    fwd.offer("/tasklog", "/tasklog/x", {"log": "not for MQTT"})
    assert len(fwd.pending) == QUEUE_LIMIT
    assert fwd.pending[0] == ("/jobs", {"i": 25}) and fwd.pending[-1][1] == {"i": QUEUE_LIMIT + 24}
    assert metrics.mqtt_dropped._value.get() == 25
    assert fwd.wake.is_set()


def test_nothing_is_queued_while_mqtt_is_off():
    fwd = MqttForwarder(Metrics(), MQTTClientConfig(enabled=False))
    fwd.offer("/jobs", "/jobs", {"id": "x"})
    assert not fwd.pending
    fwd.configure(MQTTClientConfig(enabled=True, broker="tcp://127.0.0.1:1883"))
    assert fwd.reconfigure.is_set()  # the running client is replaced at once
    fwd.offer("/jobs", "/jobs", {"id": "x"})
    assert len(fwd.pending) == 1


# Run in a fresh interpreter: monkey-patching must not leak into the test process.
UNDER_GEVENT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import socket, threading
    import gevent, gevent.event
    from flamenco_pkg.manager.config import MQTTClientConfig
    from flamenco_pkg.manager.metrics import Metrics
    from flamenco_pkg.manager.mqtt.forwarder import MqttForwarder

    # A "broker" that takes the connection and never answers.
    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen(4)
    port = stall.getsockname()[1]
    fwd = MqttForwarder(Metrics(), MQTTClientConfig(enabled=True, broker=f"tcp://127.0.0.1:{port}"))
    runner = gevent.spawn(fwd.run)
    with gevent.Timeout(10):
        conn, _ = stall.accept()
        conn.recv(1)  # paho sent its CONNECT and now waits for a CONNACK

    # paho's network loop is a greenlet on the main thread, not an OS thread...
    paho_threads = [t for t in threading.enumerate() if t.name.startswith("paho-mqtt-client")]
    assert len(paho_threads) == 1, threading.enumerate()
    assert paho_threads[0].native_id == threading.main_thread().native_id
    # ...and while it waits, the hub keeps running everything else.
    ticked = gevent.event.Event()
    def ticker():
        for _ in range(50):
            gevent.sleep(0.01)
        ticked.set()
    gevent.spawn(ticker)
    assert ticked.wait(timeout=5), "the hub was blocked while paho waited for the broker"
    for i in range(1500):
        fwd.offer("/jobs", "/jobs", {"i": i})
    assert len(fwd.pending) == 1000 and not fwd.connected

    runner.kill(timeout=10)  # shutdown: stops paho's greenlet too
    assert runner.dead and not [t for t in threading.enumerate() if t.name.startswith("paho-mqtt-client")]
    print("ok")
""")


def test_paho_runs_as_a_greenlet_and_never_blocks_the_hub():
    result = subprocess.run([sys.executable, "-c", UNDER_GEVENT], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def test_events_from_before_a_settings_change_follow_the_old_settings():
    """An event committed while MQTT was off is not published because MQTT is on when it arrives."""
    from types import SimpleNamespace

    from flamenco_pkg.manager.events.broker import EventBroker
    from flamenco_pkg.manager.mqtt.loop import wire

    broker = EventBroker()
    fwd = MqttForwarder(Metrics(), MQTTClientConfig(enabled=False))
    settings_changed = wire(broker, fwd)
    broker.publish("/jobs", "/jobs", {"name": "while-off"})  # queued; its delivery greenlet has not run yet
    on = SimpleNamespace(mqtt=SimpleNamespace(client=MQTTClientConfig(enabled=True, broker="tcp://127.0.0.1:1883")))
    settings_changed(None, on)
    broker.publish("/jobs", "/jobs", {"name": "again"})
    assert broker.flush(timeout=5)
    assert [payload["name"] for _event, payload in fwd.pending] == ["again"]
