"""Background loops: each module listed here has `start(manager) -> gevent.Greenlet | None`.

The CLI starts them once the Manager serves requests; a module returns None
when its config turns it off. A loop lives in the package of its concern
(`sleep/loop.py`, `timeouts/loop.py`, ...); the ones without one live here.
A new loop is added to `LOOPS`.
"""

from __future__ import annotations

import logging

from ..disk_full import loop as disk_full_loop
from ..job_deleter import loop as job_deleter_loop
from ..last_rendered import loop as last_rendered_loop
from ..mqtt import loop as mqtt_loop
from ..shaman import gc_loop as shaman_gc_loop
from ..sleep import loop as sleep_loop
from ..timeouts import loop as timeout_loop
from ..webhooks import loop as webhook_loop
from . import dependency_release, farm_status, integrity_check, ssdp, wal_checkpoint, worker_seen

log = logging.getLogger("flamenco.loops")

LOOPS = (dependency_release, disk_full_loop, farm_status, integrity_check, job_deleter_loop, last_rendered_loop, mqtt_loop,
         shaman_gc_loop, sleep_loop, ssdp, timeout_loop, wal_checkpoint, webhook_loop, worker_seen)


def start_all(manager) -> list:
    started = []
    for module in LOOPS:
        greenlet = module.start(manager)
        if greenlet is not None:
            started.append(greenlet)
    return started
