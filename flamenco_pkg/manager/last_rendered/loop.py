"""Turns queued last-rendered uploads into thumbnails, one at a time, as they arrive."""

from __future__ import annotations

import logging

import gevent

from ..disk_full import DiskFull
from . import previews as last_rendered

log = logging.getLogger("flamenco.lastrendered")


def _in_thread(fn, *args):
    """Run Pillow work in gevent's native thread pool, so other greenlets keep running."""
    return gevent.get_hub().threadpool.apply(fn, args)


def run(manager) -> None:
    queue = last_rendered.image_queue(manager)
    while True:
        upload = queue.get()
        try:
            last_rendered.process(manager, upload, run=_in_thread)
        except DiskFull:
            pass  # the disk watch has said so once
        except Exception:  # noqa: BLE001 — one bad image must not stop the previews
            log.exception("processing the image of task %s failed", upload.task_uuid)


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
