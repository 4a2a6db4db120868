"""Writes when Workers were last heard from, once a second, all in one transaction.

A Worker's call only notes the time in memory (`worker_auth.SeenMarks`): under
load, writing it with each call cost as much as the call's own change. The web
UI's "last seen" lags at most about a second; the worker timeout check writes
the marks itself before it looks.
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
