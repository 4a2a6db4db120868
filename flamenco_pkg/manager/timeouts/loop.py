"""Checks task and worker timeouts every `timeout_check_interval` (upstream: 1 min, first after 5 min)."""

from __future__ import annotations

import logging

import gevent

from ..disk_full import DiskFull
from .checks import check_task_timeouts, check_worker_timeouts

log = logging.getLogger("flamenco.timeouts")


def run(manager) -> None:
    gevent.sleep(5 * max(0.05, manager.config.timeout_check_interval.total_seconds()))
    while True:
        try:
            if manager.config.task_timeout.total_seconds() > 0:
                check_task_timeouts(manager)
            check_worker_timeouts(manager)
        except DiskFull:
            pass  # the disk watch has said so once; try again next time
        except Exception:  # noqa: BLE001 — keep checking next time
            log.exception("timeout check failed")
        gevent.sleep(max(0.05, manager.config.timeout_check_interval.total_seconds()))


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
