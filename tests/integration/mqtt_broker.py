"""A real Mosquitto broker on a free loopback port, and an MQTT subscriber that records messages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.integration.farm import free_port, wait_until

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)

# Skipped on a developer's machine without it; CI installs it (.ci/run), so there a missing broker fails.
needs_mosquitto = pytest.mark.skipif(MOSQUITTO is None and not os.environ.get("CI"),
                                     reason="mosquitto is not installed (apt-get install mosquitto)")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Mosquitto:
    """mosquitto with a small config: loopback only, anonymous, nothing persisted."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        assert MOSQUITTO, "mosquitto is not installed (apt-get install mosquitto)"
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "log_type error\nlog_type warning\nlog_type notice\n", encoding="utf-8")
        log = open(self.workdir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: self._alive() and port_open(self.port), deadline_s=10, what="mosquitto to listen")
        return self

    def _alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited: {(self.workdir / 'mosquitto.log').read_text()}")
        return True

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


class Subscriber:
    """Records every message under `<prefix>/#`, parsed as JSON; resubscribes after reconnecting."""

    def __init__(self, port: int, topic: str = "flamenco/#") -> None:
        self.topic = topic
        self.messages: list[tuple[str, Any]] = []
        self.connected = threading.Event()
        self._cond = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{port}-{time.monotonic_ns()}",
                                  protocol=MQTTProtocolVersion.MQTTv5)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.wait(10), "the test's MQTT subscriber did not connect"

    def _on_connect(self, client, _userdata, _flags, reason, _props) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic, qos=1)
            self.connected.set()

    def _on_message(self, _client, _userdata, msg) -> None:
        with self._cond:
            self.messages.append((msg.topic, (json.loads(msg.payload), msg.qos, msg.retain)))
            self._cond.notify_all()

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self._cond:
            return [payload for t, (payload, _q, _r) in self.messages if t == topic]

    def topics(self) -> set[str]:
        with self._cond:
            return {t for t, _ in self.messages}

    def wait_for(self, topic: str, predicate: Callable[[dict], bool] = lambda p: True,
                 deadline_s: float = 20.0) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        with self._cond:
            while True:
                for t, (payload, _q, _r) in self.messages:
                    if t == topic and predicate(payload):
                        return payload
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no message on {topic} matching within {deadline_s} s; "
                                         f"topics seen: {sorted({t for t, _ in self.messages})}")
                self._cond.wait(remaining)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
