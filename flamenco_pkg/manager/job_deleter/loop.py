"""Deletes jobs whose deletion was requested: queue-driven, with a rescan every minute."""

from __future__ import annotations

import logging

import gevent
import gevent.queue

from ..disk_full import DiskFull
from .deletion import delete_job, pending

log = logging.getLogger("flamenco.jobdeleter")

RESCAN_SECONDS = 60.0


def run(manager) -> None:
    failed_recently: set[int] = set()
    for job_id in pending(manager):
        _delete(manager, job_id, failed_recently)
    while True:
        try:
            job_id = manager.deletion_queue.get(timeout=RESCAN_SECONDS)
        except gevent.queue.Empty:
            failed_recently.clear()
            for job_id in pending(manager):
                _delete(manager, job_id, failed_recently)
            continue
        _delete(manager, job_id, failed_recently)


def _delete(manager, job_id: int, failed_recently: set[int]) -> None:
    if job_id in failed_recently:
        return
    try:
        if not delete_job(manager, job_id):
            failed_recently.add(job_id)
    except DiskFull:
        failed_recently.add(job_id)  # the disk watch has said so once; the rescan retries
    except Exception:  # noqa: BLE001 — the loop must survive one bad job
        log.exception("deleting job %d failed", job_id)
        failed_recently.add(job_id)


def start(manager) -> gevent.Greenlet:
    return gevent.spawn(run, manager)
