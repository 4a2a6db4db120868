"""Checks the database every `database_check_period` (0 = only at start-up).

A failed check stops the Manager, as upstream does: running on a damaged
database could only spread the damage.
"""

from __future__ import annotations

import logging
import os
import signal

import gevent

from ..db.connection import DatabaseError

log = logging.getLogger("flamenco.db")


def run(manager, period_s: float) -> None:
    while True:
        gevent.sleep(period_s)
        try:
            manager.db.check_integrity()
        except DatabaseError as exc:
            log.critical("%s; stopping the Manager to protect the data", exc)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def start(manager) -> gevent.Greenlet | None:
    period = manager.config.database_check_period.total_seconds()
    if period <= 0:
        return None
    return gevent.spawn(run, manager, period)
