"""Folds SQLite's write-ahead log into the database every 15 minutes (15 s while busy)."""

from __future__ import annotations

import logging

import gevent

from ..disk_full import is_disk_full

log = logging.getLogger("flamenco.db")

INTERVAL_SECONDS = 15 * 60
BUSY_RETRY_SECONDS = 15


def run(manager) -> None:
    while True:
        wait = INTERVAL_SECONDS
        try:
            if not manager.db.checkpoint():
                wait = BUSY_RETRY_SECONDS
        except Exception as exc:  # noqa: BLE001 — upkeep must not end the loop
            if is_disk_full(exc):
                manager.disk.full(manager.db.path, "database")  # warns once
            else:
                log.exception("WAL checkpoint failed")
        gevent.sleep(wait)


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
