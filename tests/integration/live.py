"""A real Socket.IO client for tests: subscribes like the web UI and records events."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import socketio

from tests.openapi_check import assert_matches_schemas

EVENT_SCHEMAS = {
    "/jobs": "EventJobUpdate", "/task": "EventTaskUpdate", "/tasklog": "EventTaskLogUpdate",
    "/last-rendered": "EventLastRenderedUpdate", "/workers": "EventWorkerUpdate",
    "/workertags": "EventWorkerTagUpdate", "/status": "FarmStatusReport", "/lifecycle": "EventLifeCycle",
}


class LiveClient:
    def __init__(self, url: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        for name in EVENT_SCHEMAS:
            self.sio.on(name, self._recorder(name))
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def record(payload: Any) -> None:
            with self._cond:
                self.events.append((name, payload))
                self._cond.notify_all()
        return record

    def subscribe(self, kind: str, uuid: str = "") -> None:
        body = {"op": "subscribe", "type": kind}
        if uuid:
            body["uuid"] = uuid
        ack = self.sio.call("/subscription", body, timeout=10)
        assert ack == "ok", ack

    def wait_for(self, name: str, predicate: Callable[[dict], bool] = lambda p: True,
                 deadline_s: float = 10.0) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        with self._cond:
            while True:
                for event, payload in self.events:
                    if event == name and predicate(payload):
                        return payload
                remaining = end - time.monotonic()
                if remaining <= 0:
                    seen = [e for e, _ in self.events]
                    raise AssertionError(f"no {name} event matching within {deadline_s} s; got {seen}")
                self._cond.wait(remaining)

    def of(self, name: str) -> list[dict[str, Any]]:
        with self._cond:
            return [p for e, p in self.events if e == name]

    def check_schemas(self) -> None:
        """Every received payload validates against the event schemas of our spec (and upstream's when present)."""
        with self._cond:
            for event, payload in self.events:
                assert_matches_schemas(EVENT_SCHEMAS[event], payload)

    def close(self) -> None:
        self.sio.disconnect()
