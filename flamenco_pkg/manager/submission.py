"""Job submission: variables, compilation by the job type, storage.

The whole job (row, tasks, dependencies) is stored in one transaction, so a
submission either lands completely or not at all.
"""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime, timezone
from typing import Any

from . import events, serialize
from .config import manager_platform
from .context import Manager
from .db import jobs as job_db
from .db import tags as tag_db
from .db import tasks as task_db
from .db.connection import to_db_time
from .job_types import CompiledJob, JobTypeError
from .errors import ManagerError
from .shaman.specs import SpecError, check_checkout_path

INITIAL_STATUSES = ("queued", "paused")


def compile_submission(manager: Manager, body: dict[str, Any]) -> tuple[dict[str, Any], CompiledJob, int | None]:
    """Validate and compile a SubmittedJob; nothing is stored. Raises ManagerError."""
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
        "shaman_checkout_id": _checkout_id(body),
        "created": datetime.now(timezone.utc),
        "type_etag": body.get("type_etag") or "",
        "initial_status": initial,
    }
    try:
        compiled = manager.job_types.compile(job)
    except JobTypeError as exc:
        raise ManagerError(exc.http_status, exc.message) from exc
    _check_dependencies(compiled)
    return job, compiled, tag_id


def _checkout_id(body: dict[str, Any]) -> str:
    """`storage.shaman_checkout_id`, refused unless it is a path Shaman could have checked out.

    The job deleter removes `<shared>/jobs/<id>`, so `../x` must never be stored.
    """
    checkout_id = (body.get("storage") or {}).get("shaman_checkout_id") or ""
    if checkout_id:
        try:
            check_checkout_path(checkout_id, "storage.shaman_checkout_id")
        except SpecError as exc:
            raise ManagerError(400, str(exc)) from None
    return checkout_id


def _check_dependencies(compiled: CompiledJob) -> None:
    known = {t.uuid for t in compiled.tasks}
    if len(known) != len(compiled.tasks):
        raise ManagerError(400, "the job type added the same task twice")
    for task in compiled.tasks:
        for dep in task.dependencies:
            if dep not in known:
                raise ManagerError(400, f'task "{task.name}" depends on a task that is not part of this job')


def store_job(manager: Manager, job: dict[str, Any], compiled: CompiledJob, tag_id: int | None) -> dict[str, Any]:
    """Store a compiled job with its tasks; returns the Job as the API shows it."""
    created = to_db_time(job["created"])
    tasks = [{
        "uuid": t.uuid, "name": t.name, "type": t.type, "priority": t.priority,
        "commands": [{"name": c.name, "parameters": c.parameters, "total_step_count": c.total_step_count}
                     for c in t.commands],
        "steps_total": sum(max(1, c.total_step_count) for c in t.commands),
    } for t in compiled.tasks]
    with manager.change() as (conn, changes):
        job_id = job_db.insert_job(
            conn, uuid=job["id"], name=job["name"], job_type=job["type"], priority=job["priority"],
            status=job["initial_status"], settings=compiled.settings, metadata=compiled.metadata,
            worker_tag_id=tag_id, shaman_checkout_id=job["shaman_checkout_id"], created_at=created)
        ids = task_db.insert_tasks(conn, job_id, created, tasks)
        task_db.insert_dependencies(conn, [(ids[t.uuid], ids[d]) for t in compiled.tasks for d in t.dependencies])
        job_db.recompute_steps(conn, job_id)
        job_db.reset_updated_at(conn, job_id)
        row = job_db.fetch_by_id(conn, job_id)
        events.job_updated(changes, row)
    return serialize.job(row)
