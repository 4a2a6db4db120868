"""Live updates over Socket.IO: rooms, the `/subscription` protocol, delivery.

Events come from the broker (events/__init__.py decides what they are; the
broker calls `deliver` from its own greenlet, after the commit); this module
only delivers them. Every client is in `/lifecycle` and `/status`; the rest
it subscribes to, as upstream's web app does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio
import socketio.exceptions

from ..config import Config
from ..http_peer import origin_allowed
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


def plain_http_for_foreign_origins(config: Callable[[], Config]) -> Callable[[Any], bool]:
    """A gevent-websocket `pre_start_hook`: True (serve as plain HTTP) for a foreign Origin.

    gevent-websocket switches protocols before the app runs; answering such a
    request as plain HTTP lets the Socket.IO server refuse the handshake with a 400.
    """
    def hook(handler: Any) -> bool:
        cfg = config()
        environ = handler.environ
        return not origin_allowed(environ.get("HTTP_ORIGIN"), environ, cfg.trusted_proxies, cfg.allowed_origins)

    return hook


def create_server(broker, config: Callable[[], Config],
                  authorize: Callable[[dict, Any], bool] | None = None) -> socketio.Server:
    """The Socket.IO server; `config()` gives the running configuration (it can change).

    `authorize(environ, auth)` decides whether a connection may open (users, issue 14):
    it sees the handshake's cookies and headers and the client's Socket.IO `auth` data.
    """

    refused_logged: set[str] = set()

    def allowed(origin: str | None, environ: dict) -> bool:
        # Browsers send Origin on the handshake: only the Manager's own pages (and
        # configured extra origins) may read the farm's events. An empty list here
        # would turn python-engineio's check off altogether.
        cfg = config()
        ok = origin_allowed(origin, environ, cfg.trusted_proxies, cfg.allowed_origins)
        if not ok and origin not in refused_logged and len(refused_logged) < 100:  # once per origin
            refused_logged.add(origin)
            log.warning("live-update connection from a page at %s refused: not the Manager's own address "
                        "nor in allowed_origins", origin)
        return ok

    sio = socketio.Server(async_mode="gevent", cors_allowed_origins=allowed, logger=False, engineio_logger=False)

    @sio.event
    def connect(sid: str, environ: dict, auth: Any = None) -> None:
        if authorize is not None and not authorize(environ, auth):
            raise socketio.exceptions.ConnectionRefusedError("authentication required: log in or send a token")
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
