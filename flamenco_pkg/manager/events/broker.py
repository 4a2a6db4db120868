"""Hands events to subscribers without making the publisher wait.

`publish` only appends to each subscriber's outbox and returns; a greenlet
per subscriber delivers its outbox in publishing order, so every room sees
its events in the order they were committed, and a slow subscriber (a
Socket.IO server with a stalled browser) delays nobody but itself. An outbox
holds at most `limit` events: when a subscriber falls that far behind, the
oldest are dropped, with one warning when dropping starts and one with the
count when it has caught up. A subscriber may say which events it wants
(`wants`); the others never reach its outbox, so a task's progress does not
wake every loop of the Manager.

Publish and subscribe from the event loop's thread (any greenlet), never
from a native thread.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

log = logging.getLogger("flamenco.events")

Subscriber = Callable[[str, str, dict[str, Any]], None]  # (event name, room, payload)
Wants = Callable[[str], bool]  # event name -> whether the subscriber takes it
Event = tuple[str, str, dict[str, Any]]

OUTBOX_LIMIT = 10_000


class Outbox:
    """One subscriber's pending events and the greenlet that delivers them."""

    def __init__(self, subscriber: Subscriber, name: str, limit: int, wants: Wants | None = None) -> None:
        self.subscriber = subscriber
        self.name = name
        self.wants = wants
        self.limit = limit
        self.pending: deque[Event] = deque()
        self.dropped = 0  # since the Manager started
        self._dropping = 0  # in the current episode of falling behind
        self._wake = gevent.event.Event()
        self.idle = gevent.event.Event()
        self.idle.set()
        self._greenlet: gevent.Greenlet | None = None

    def put(self, event: Event) -> None:
        if len(self.pending) >= self.limit:
            self.pending.popleft()
            self.dropped += 1
            self._dropping += 1
            if self._dropping == 1:
                log.warning("live updates to %s are %d events behind; dropping the oldest until it catches up",
                            self.name, self.limit)
        self.pending.append(event)
        self.idle.clear()
        self._wake.set()
        if not self._greenlet:  # none yet, or it died; `not` is ten times cheaper than `.dead`
            self._greenlet = gevent.spawn(self._deliver)

    def _deliver(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self.pending:
                event, room, payload = self.pending.popleft()
                try:
                    self.subscriber(event, room, payload)
                except Exception:  # noqa: BLE001 — one failed delivery must not stop the rest
                    log.exception("delivering event %s to %s via %s failed", event, room, self.name)
            if self._dropping:
                log.warning("live updates to %s caught up; %d events were dropped", self.name, self._dropping)
                self._dropping = 0
            self.idle.set()


class EventBroker:
    def __init__(self, limit: int = OUTBOX_LIMIT) -> None:
        self.limit = limit
        self.outboxes: list[Outbox] = []
        self._takers: dict[str, tuple[Outbox, ...]] = {}  # event name -> the outboxes that take it

    def subscribe(self, subscriber: Subscriber, name: str = "", wants: Wants | None = None) -> Outbox:
        """Deliver events to `subscriber`: all of them, or those whose name `wants` accepts."""
        outbox = Outbox(subscriber, name or getattr(subscriber, "__qualname__", repr(subscriber)), self.limit,
                        wants)
        self.outboxes.append(outbox)
        self._takers.clear()
        return outbox

    def publish(self, event: str, room: str, payload: dict[str, Any]) -> None:
        """Queue the event for every subscriber that takes it; never blocks and never yields."""
        log.debug("event %s to %s", event, room)
        takers = self._takers.get(event)
        if takers is None:
            takers = self._takers[event] = tuple(
                outbox for outbox in self.outboxes if outbox.wants is None or outbox.wants(event))
        item = (event, room, payload)
        for outbox in takers:
            outbox.put(item)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every subscriber has been handed everything published so far; False on timeout."""
        with gevent.Timeout(timeout, False):
            for outbox in self.outboxes:
                outbox.idle.wait()
            return True
        return False
