"""Periodic Shaman garbage collection (`shaman.garbageCollect.period`, upstream: 24 h, first after 30 s).

The sweep walks the file store and the checkouts, which can take a while on
a big farm, so it runs in a thread of gevent's pool and requests keep being
served meanwhile.
"""

from __future__ import annotations

import logging

import gevent

from .. import shaman
from ..config.durations import format_duration

log = logging.getLogger("flamenco.shaman")

FIRST_SWEEP_AFTER_S = 30.0


def _gc_in_thread(config) -> tuple[shaman.GCReport | None, Exception | None]:
    """run_gc for the thread pool: its exception is returned, so gevent does not print it as unhandled."""
    try:
        return shaman.run_gc(config, delete=True), None
    except Exception as exc:  # noqa: BLE001 — raised again in the loop's greenlet
        return None, exc


def sweep_once(manager) -> shaman.GCReport:
    report, error = gevent.get_hub().threadpool.apply(_gc_in_thread, (manager.config,))
    if error is not None:
        raise error
    for error in report.errors:
        log.warning("Shaman garbage collection: %s", error)
    log.info("%s", report.summary())
    return report


def run(manager, period_s: float) -> None:
    gevent.sleep(min(FIRST_SWEEP_AFTER_S, period_s))
    while True:
        try:
            sweep_once(manager)
        except shaman.ShamanUnavailable as exc:  # the configuration changed since start-up
            log.warning("Shaman garbage collection skipped: %s", exc)
        except Exception:  # noqa: BLE001 — try again next period
            log.exception("Shaman garbage collection failed")
        gevent.sleep(period_s)


def start(manager) -> gevent.Greenlet | None:
    if not shaman.is_enabled(manager.config):
        return None
    period = manager.config.shaman.garbage_collect.period.total_seconds()
    if period <= 0:
        log.warning("Shaman garbage collection is disabled (shaman.garbageCollect.period is 0); "
                    "the file store will only grow")
        return None
    log.info("Shaman garbage collection: every %s, removing stored files unused for %s",
             format_duration(manager.config.shaman.garbage_collect.period),
             format_duration(manager.config.shaman.garbage_collect.max_age))
    return gevent.spawn(run, manager, period)
