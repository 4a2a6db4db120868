"""Keeps SQLite's write-ahead log short without stalling the event loop.

Two loops: every second a PASSIVE checkpoint copies committed pages into the
database file from a native thread on its own connection (the writer's
COMMITs no longer do it themselves, see `Database.take_over_checkpoints`);
every 15 minutes (15 s while readers keep it busy) a TRUNCATE checkpoint
shrinks the log file back to nothing.
"""

from __future__ import annotations

import logging

import gevent

from ..disk_full import is_disk_full

log = logging.getLogger("flamenco.db")

INTERVAL_SECONDS = 15 * 60
BUSY_RETRY_SECONDS = 15
PASSIVE_SECONDS = 1.0


def _failed(manager, exc: Exception) -> None:
    if is_disk_full(exc):
        manager.disk.full(manager.db.path, "database")  # warns once
    else:
        log.exception("WAL checkpoint failed")


def run(manager) -> None:
    while True:
        wait = INTERVAL_SECONDS
        try:
            if not manager.db.checkpoint():
                wait = BUSY_RETRY_SECONDS
        except Exception as exc:  # noqa: BLE001 — upkeep must not end the loop
            _failed(manager, exc)
        gevent.sleep(wait)


def run_passive(manager) -> None:
    while True:
        gevent.sleep(PASSIVE_SECONDS)
        try:
            manager.db.checkpoint_passive()
        except Exception as exc:  # noqa: BLE001 — upkeep must not end the loop
            _failed(manager, exc)


def start(manager) -> gevent.Greenlet:
    manager.db.take_over_checkpoints()
    passive = gevent.spawn(run_passive, manager)
    main = gevent.spawn(run, manager)
    main.link(lambda _g: passive.kill(block=False))
    return main
