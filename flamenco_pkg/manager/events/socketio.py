"""Live updates over Socket.IO: rooms, the `/subscription` protocol, delivery.

Events come from the broker (events/__init__.py decides what they are; the
broker calls `deliver` from its own greenlet, after the commit); this module
only delivers them. Every client is in `/lifecycle` and `/status`; the rest
it subscribes to, as upstream's web app does.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from ..local_storage.paths import UUID_RE

log = logging.getLogger("flamenco.live")

ALWAYS_JOINED = ("/lifecycle", "/status")
SIMPLE_ROOMS = {
    "allJobs": "/jobs",
    "allWorkers": "/workers",
    "allLastRendered": "/last-rendered",
    "allWorkerTags": "/workertags",
}


def rooms_for(kind: str, uuid: str) -> list[str]:
    """The rooms a subscription of this type covers; ValueError when it makes no sense."""
    if kind in SIMPLE_ROOMS:
        return [SIMPLE_ROOMS[kind]]
    if kind in ("job", "tasklog"):
        if not UUID_RE.match(uuid or ""):
            raise ValueError(f"subscription type {kind} needs a UUID, not {uuid!r}")
        if kind == "job":
            return [f"/jobs/{uuid}", f"/jobs/{uuid}/last-rendered"]
        return [f"/tasklog/{uuid}"]
    raise ValueError(f"unknown subscription type {kind!r}")


def create_server(broker) -> socketio.Server:
    sio = socketio.Server(async_mode="gevent", cors_allowed_origins=[], logger=False, engineio_logger=False)

    @sio.event
    def connect(sid: str, environ: dict, auth: Any = None) -> None:
        for room in ALWAYS_JOINED:
            sio.enter_room(sid, room)

    @sio.on("/subscription")
    def subscription(sid: str, data: Any) -> str:
        if not isinstance(data, dict) or data.get("op") not in ("subscribe", "unsubscribe"):
            return "invalid subscription: expected {op: subscribe|unsubscribe, type, uuid}"
        try:
            rooms = rooms_for(str(data.get("type", "")), str(data.get("uuid", "")))
        except ValueError as exc:
            return str(exc)
        for room in rooms:
            if data["op"] == "subscribe":
                sio.enter_room(sid, room)
            else:
                sio.leave_room(sid, room)
        return "ok"

    def deliver(event: str, room: str, payload: dict[str, Any]) -> None:
        sio.emit(event, payload, room=room)

    broker.subscribe(deliver, name="Socket.IO")
    return sio
