"""Writes when Workers were last heard from, once a second, when no other write did.

A Worker's call notes the time in memory (`worker_auth.SeenMarks`) and the next
write transaction stores it. A farm of asleep Workers only polls its state,
which writes nothing, so this loop stores their marks: the worker timeout and
the web UI's "last seen" never lag more than about a second.
"""

from __future__ import annotations

import logging

import gevent

from ..disk_full import is_disk_full

log = logging.getLogger("flamenco.workers")

INTERVAL_SECONDS = 1.0


def run(manager) -> None:
    seen = manager.worker_auth.seen
    while True:
        gevent.sleep(INTERVAL_SECONDS)
        if not seen:
            continue
        try:
            with manager.db.tx() as conn:
                seen.write(conn)
        except Exception as exc:  # noqa: BLE001 — upkeep must not end the loop
            if not is_disk_full(exc):
                log.exception("could not store when Workers were last seen")


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
