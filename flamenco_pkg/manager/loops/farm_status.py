"""Broadcasts the farm status when it changes (checked every 30 s, after status events, and when a disk
fills up or has room again)."""

from __future__ import annotations

import logging

import gevent
import gevent.event

from .. import events
from ..events import Changes

log = logging.getLogger("flamenco.farmstatus")

INTERVAL_SECONDS = 30.0
POKING_EVENTS = frozenset({"/jobs", "/workers"})  # their status changes may change the farm's


def run(manager, poke: gevent.event.Event) -> None:
    last = {"status": "starting"}
    gevent.sleep(1)
    while True:
        try:
            report = manager.farm_status_report()
            if report != last:
                if report["status"] != last["status"]:
                    log.info("farm status: %s", report["status"])
                changes = Changes()
                events.farm_status(changes, report)
                manager.publish(changes)
                last = report
        except Exception:  # noqa: BLE001
            log.exception("farm status check failed")
        poke.clear()
        poke.wait(timeout=INTERVAL_SECONDS)


def start(manager) -> gevent.Greenlet:
    poke = gevent.event.Event()

    def on_event(event: str, _room: str, payload: dict) -> None:
        if event in POKING_EVENTS and "previous_status" in payload:
            poke.set()

    manager.broker.subscribe(on_event, name="the farm status loop", wants=POKING_EVENTS.__contains__)
    manager.disk.on_change.append(poke.set)
    return gevent.spawn(run, manager, poke)
