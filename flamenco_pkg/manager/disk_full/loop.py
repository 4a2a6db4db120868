"""While a disk is full, looks at its free space every few seconds to lift the warning."""

from __future__ import annotations

import logging

import gevent

log = logging.getLogger("flamenco.disk")

INTERVAL_SECONDS = 2.0


def run(manager) -> None:
    while True:
        gevent.sleep(INTERVAL_SECONDS)
        if not manager.disk.is_full:
            continue
        try:
            manager.disk.recheck()
        except Exception:  # noqa: BLE001 — keep watching
            log.exception("checking free disk space failed")


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
