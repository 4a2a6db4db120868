"""Puts workers to sleep and wakes them by their schedules (upstream: every minute)."""

from __future__ import annotations

import logging

import gevent

from ..disk_full import DiskFull
from .scheduler import tick

log = logging.getLogger("flamenco.sleepscheduler")


def run(manager) -> None:
    gevent.sleep(2)
    while True:
        try:
            tick(manager)
        except DiskFull:
            pass  # the disk watch has said so once; try again next tick
        except Exception:  # noqa: BLE001
            log.exception("sleep scheduler tick failed")
        gevent.sleep(max(0.05, manager.config.sleep_check_interval.total_seconds()))


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
