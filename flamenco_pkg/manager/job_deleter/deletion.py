"""Deleting jobs: the request (marks the job) and the work (files, then rows).

Files go first: if removing them fails, the job row stays and a later rescan
tries again, so nothing is left half-deleted without a record. Task logs
appended after the files went are dropped (`TaskLogs.remove_job`), so no
orphan folder appears between removing the files and the rows. Rows go in
batches, each a short transaction (`db/batching.py`), so Workers are answered
while a 100k-task job is removed; the job row goes last. A Manager stopped
half-way finds the job still marked (delete_requested_at) at its next start
and carries on; every batch leaves the database consistent.

A job still under construction (a submission that failed half-way) was never
shown: its rows are removed without an event, and its Shaman checkout, which
belongs to the submitter, is left alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import gevent.queue

from .. import events, shaman
from ..local_storage import paths as storage
from ..local_storage.task_log_writer import TaskLogsUnavailable
from ..context import Manager
from ..db import job_dependencies as dep_db
from ..db import jobs as job_db
from ..errors import ManagerError
from ..job_dependencies.rules import blocked_deletions
from ..db import tasks as task_db
from ..db.batching import BatchSizer, in_batches
from ..db.connection import to_db_time

log = logging.getLogger("flamenco.jobdeleter")


def request_deletion(manager: Manager, job_ids: list[int]) -> None:
    """Mark jobs for deletion, tell the clients, and queue them for the deleter.

    Refused (409, nothing marked) while a job that is not being deleted
    depends on one of them: it would wait for ever.

    Their tasks are first made not runnable in short batches: marking a
    queued 100k-task job in one go rewrote every task row in one transaction.
    A task requeued meanwhile is caught by the marking itself (migration 0009).
    """
    with manager.db.peek() as conn:
        _refuse_if_depended_on(conn, job_ids)
    for job_id in job_ids:
        _unschedule_tasks(manager, job_id)
    try:
        with manager.change() as (conn, changes):
            _refuse_if_depended_on(conn, job_ids)  # a dependent may have been submitted meanwhile
            for job_id in job_ids:
                job_db.request_deletion(conn, job_id)
                events.job_updated(changes, job_db.fetch_by_id(conn, job_id))
    except ManagerError:
        with manager.db.tx() as conn:
            for job_id in job_ids:
                task_db.reschedule_job(conn, job_id)
        raise
    queue_for_deletion(manager, job_ids)


def _refuse_if_depended_on(conn, job_ids: list[int]) -> None:
    blocked = blocked_deletions(dep_db.live_dependents(conn, job_ids), dep_db.uuids_of(conn, job_ids))
    if blocked:
        listed = "; ".join(f"{job} is needed by {', '.join(dependents)}"
                           for job, dependents in list(blocked.items())[:10])
        more = f" (and {len(blocked) - 10} more jobs)" if len(blocked) > 10 else ""
        raise ManagerError(409, "cannot delete a job that other jobs depend on; delete those too, "
                                f"or first remove them: {listed}{more}")


def _unschedule_tasks(manager: Manager, job_id: int) -> None:
    """Make a runnable job's waiting tasks not runnable, in batches (nothing to do for other jobs)."""
    with manager.db.peek() as conn:
        if not task_db.job_is_runnable(conn, job_id):
            return
    for status in ("queued", "soft-failed"):
        after = [0]

        def step(conn, limit: int, status: str = status) -> int:
            looked_at, after[0] = task_db.unschedule_some_of_job(conn, job_id, status, after[0], limit)
            return looked_at

        in_batches(manager.db, step)


def queue_for_deletion(manager: Manager, job_ids: list[int]) -> None:
    """Hand jobs already marked for deletion to the deleter loop."""
    for job_id in job_ids:
        try:
            manager.deletion_queue.put_nowait(job_id)
        except gevent.queue.Full:
            log.info("job deletion queue is full; the periodic rescan will pick up job %d", job_id)


def round_up_to_second(moment: datetime) -> datetime:
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def jobs_updated_up_to(manager: Manager, moment: datetime) -> list[int]:
    """Ids of jobs last updated at or before `moment` (rounded up to a whole second)."""
    limit = to_db_time(round_up_to_second(moment.astimezone(timezone.utc)))
    with manager.db.tx() as conn:
        return job_db.ids_updated_before(conn, limit)


def has_checkout(manager: Manager, checkout_id: str) -> bool:
    """Whether deleting the job also removes a Shaman checkout."""
    cfg = manager.config
    return bool(cfg.shaman.enabled and checkout_id and cfg.shared_storage_path)


def delete_job(manager: Manager, job_id: int) -> bool:
    """Remove a job's files and rows. False when it must be retried later."""
    with manager.db.tx() as conn:
        job = job_db.fetch_by_id(conn, job_id)
    if job is None:
        return True
    shown = job["status"] != "under-construction"
    if shown:
        try:
            _remove_checkout(manager, job)
            manager.task_logs.remove_job(job["uuid"])
        except (OSError, storage.UnsafePath, TaskLogsUnavailable) as exc:
            log.error("cannot remove the files of job %s, will retry later: %s", job["uuid"], exc)
            return False
    sizer = BatchSizer()
    tasks = in_batches(manager.db, lambda conn, limit: task_db.delete_some_of_job(conn, job_id, limit), sizer)
    with manager.change() as (conn, changes):
        job_db.delete(conn, job_id)
        if shown:
            events.job_deleted(changes, job["uuid"])
    log.info('deleted job %s "%s": %d tasks in %d transactions', job["uuid"], job["name"], tasks,
             sizer.transactions + 1)
    return True


def _remove_checkout(manager: Manager, job) -> None:
    """Remove the job's Shaman checkout, if it has one; OSError when that fails.

    A checkout ID that is not a valid checkout path (stored before submissions
    checked it) cannot name a checkout Shaman made, so there is nothing to remove.
    """
    checkout_id = job["storage_shaman_checkout_id"]
    if not has_checkout(manager, checkout_id):
        return
    try:
        shaman.remove_checkout(manager.config, checkout_id)
    except shaman.SpecError as exc:
        log.warning("job %s: not removing a Shaman checkout, its checkout ID is not valid: %s", job["uuid"], exc)


def pending(manager: Manager) -> list[int]:
    with manager.db.tx() as conn:
        return [row["id"] for row in job_db.deletion_requested(conn)]
