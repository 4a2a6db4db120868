"""Job submission: variables, compilation by the job type, storage.

The job-type script runs in a worker process (`job_types/pool.py`), so the
event loop keeps answering Workers while it compiles. The compiled job is
stored in batches, each its own short transaction with a yield between
them, for the same reason: a Worker's call waits for one batch, never for
a 100,000-task insert. Until the last step commits, the job's status is
`under-construction`, which hides it: it is not listed, not scheduled and
no event names it. A submission that fails half-way marks its job for
deletion and the job deleter removes it; one cut short by a stopped Manager
is marked at the next start (`abandon_unfinished`). So a job lands whole or
not at all.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from datetime import datetime, timezone
from typing import Any

from . import events, serialize
from .config import manager_platform
from .context import Manager
from .db import jobs as job_db
from .db import tags as tag_db
from .db import tasks as task_db
from .db.batching import BatchSizer, in_batches
from .db.connection import to_db_time, utcnow
from .errors import ManagerError
from .job_deleter import deletion
from .job_types import CompiledJob, JobTypeError

log = logging.getLogger("flamenco.manager")

INITIAL_STATUSES = ("queued", "paused")
UNDER_CONSTRUCTION = "under-construction"


def prepare_submission(manager: Manager, body: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """Validate a SubmittedJob and apply two-way variables; returns (job, worker tag id)."""
    initial = body.get("initial_status") or "queued"
    if initial not in INITIAL_STATUSES:
        raise ManagerError(400, f'initial_status must be "queued" or "paused", not "{initial}"')
    platform = body["submitter_platform"]
    if platform == "manager":
        platform = manager_platform()
    settings, metadata = manager.variables.apply_to_submission(
        body.get("settings") or {}, body.get("metadata") or {}, platform)

    tag_id = None
    tag_uuid = body.get("worker_tag") or ""
    if tag_uuid:
        with manager.db.tx() as conn:
            tag = tag_db.fetch_by_uuid(conn, tag_uuid)
        if tag is None:
            raise ManagerError(400, f"worker tag {tag_uuid} does not exist")
        tag_id = tag["id"]

    job = {
        "id": str(uuidlib.uuid4()),
        "name": body["name"],
        "type": body["type"],
        "priority": body["priority"],
        "settings": settings,
        "metadata": metadata,
        "worker_tag": tag_uuid,
        "shaman_checkout_id": (body.get("storage") or {}).get("shaman_checkout_id", ""),
        "created": datetime.now(timezone.utc),
        "type_etag": body.get("type_etag") or "",
        "initial_status": initial,
    }
    return job, tag_id


def compile_submission(manager: Manager, body: dict[str, Any]) -> tuple[dict[str, Any], CompiledJob, int | None]:
    """Validate and compile a SubmittedJob; nothing is stored. Raises ManagerError."""
    job, tag_id = prepare_submission(manager, body)
    try:
        compiled = manager.job_types.compile(job)
    except JobTypeError as exc:
        raise ManagerError(exc.http_status, exc.message) from exc
    return job, compiled, tag_id


def check_submission(manager: Manager, body: dict[str, Any]) -> None:
    """What `compile_submission` would refuse, without moving the compiled tasks around."""
    job, _tag_id = prepare_submission(manager, body)
    try:
        manager.job_types.check(job)
    except JobTypeError as exc:
        raise ManagerError(exc.http_status, exc.message) from exc


def store_job(manager: Manager, job: dict[str, Any], compiled: CompiledJob, tag_id: int | None) -> dict[str, Any]:
    """Store a compiled job with its tasks; returns the Job as the API shows it."""
    began = time.perf_counter()
    created = to_db_time(job["created"])
    with manager.db.tx() as conn:
        job_id = job_db.insert_job(
            conn, uuid=job["id"], name=job["name"], job_type=job["type"], priority=job["priority"],
            status=UNDER_CONSTRUCTION, settings=compiled.settings, metadata=compiled.metadata,
            worker_tag_id=tag_id, shaman_checkout_id=job["shaman_checkout_id"], created_at=created)
    sizer = BatchSizer()
    try:
        _store_tasks(manager, job_id, created, compiled, sizer)
        with manager.change() as (conn, changes):
            if not job_db.finish_construction(conn, job_id, job["initial_status"], compiled.steps_total):
                raise RuntimeError(f"job {job['id']} was marked for deletion while it was being stored")
            row = job_db.fetch_by_id(conn, job_id)
            events.job_updated(changes, row)
    except BaseException:
        _abandon(manager, job_id, job["id"])
        raise
    log.info('job %s "%s" stored: %d tasks, %d dependencies in %d transactions, %.2f s', job["id"], job["name"],
             len(compiled.rows), len(compiled.dependencies), sizer.transactions + 2, time.perf_counter() - began)
    return serialize.job(row)


def _store_tasks(manager: Manager, job_id: int, created: str, compiled: CompiledJob, sizer: BatchSizer) -> None:
    """Insert the tasks, then their dependencies, a time-boxed batch per transaction."""
    rows, pairs = compiled.rows, compiled.dependencies
    ids: list[int] = []  # task ids by position in the job
    pairs_done = 0

    def step(conn, limit: int) -> int:
        nonlocal pairs_done
        handled = 0
        if len(ids) < len(rows):
            chunk = rows[len(ids):len(ids) + limit]
            first = task_db.insert_task_rows(conn, job_id, created, len(ids) + 1, chunk)
            ids.extend(range(first, first + len(chunk)))
            handled = len(chunk)
        if handled < limit and pairs_done < len(pairs):  # every task has its id now
            chunk = pairs[pairs_done:pairs_done + limit - handled]
            task_db.insert_dependencies(conn, [(ids[task], ids[dependency]) for task, dependency in chunk])
            pairs_done += len(chunk)
            handled += len(chunk)
        return handled

    in_batches(manager.db, step, sizer)


def _abandon(manager: Manager, job_id: int, job_uuid: str) -> None:
    """After a failure half-way: hand the hidden, partly stored job to the job deleter."""
    log.warning("job %s could not be stored completely; removing what was stored", job_uuid)
    try:
        with manager.db.tx() as conn:
            job_db.abandon_construction(conn, job_id=job_id)
    except Exception:  # noqa: BLE001 - the next start finds the job and removes it
        log.exception("cannot mark the half-stored job %s for deletion; it is removed at the next start",
                      job_uuid)
        return
    deletion.queue_for_deletion(manager, [job_id])


def abandon_unfinished(manager: Manager) -> None:
    """At start-up: jobs a stopped Manager left under construction go to the job deleter."""
    with manager.db.tx() as conn:
        ids = job_db.abandon_construction(conn, created_before=utcnow())
    if ids:
        log.warning("removing %d job(s) whose submission was cut short by a stop of the Manager", len(ids))
