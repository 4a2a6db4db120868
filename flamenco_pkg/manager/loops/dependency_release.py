"""Releases the dependents of tasks completed with many of them (db/dependencies.py), in batches.

Woken when a task completes (its event), and once at start for releases a
stopped Manager left queued. After each batch, held task requests are woken:
the released dependents may be runnable now.
"""

from __future__ import annotations

import logging
import time

import gevent
import gevent.event

from ..cooperative import yield_to_event_loop
from ..db import dependencies
from ..db.batching import BatchSizer

log = logging.getLogger("flamenco.scheduler")

FALLBACK_SECONDS = 60  # looks anyway this often; the completion events wake it sooner


def release_all(manager) -> int:
    """Work through every queued release; returns the dependents released."""
    sizer = BatchSizer()
    total = 0
    while True:
        with manager.db.tx() as conn:
            began = time.perf_counter()
            released = dependencies.release_some(conn, sizer.size)
            more = dependencies.pending(conn)
        sizer.record(released, time.perf_counter() - began)
        total += released
        if released:
            manager.waiters.work_available()
        if not more:
            return total
        yield_to_event_loop()


def run(manager, wake: gevent.event.Event) -> None:
    while True:
        wake.clear()
        try:
            released = release_all(manager)
            if released:
                log.info("released %d tasks waiting for a completed dependency", released)
        except Exception:  # noqa: BLE001 — upkeep must not end the loop; the rows stay queued
            log.exception("releasing the dependents of completed tasks failed")
        wake.wait(FALLBACK_SECONDS)


def start(manager) -> gevent.Greenlet:
    wake = gevent.event.Event()

    def on_event(event: str, _room: str, payload: dict) -> None:
        if event == "/task" and payload.get("status") == "completed":
            wake.set()

    manager.broker.subscribe(on_event, name="the dependency release loop", wants="/task".__eq__)
    return gevent.spawn(run, manager, wake)
