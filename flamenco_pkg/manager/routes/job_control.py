"""Job and task control from the web UI: status, priority, tag, blocklist, deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import events
from ..auth import require_job_change
from ..job_deleter import deletion as job_deletion
from ..state_machine import rules as states
from ..context import Manager
from ..db import jobs as job_db
from ..db import tags as tag_db
from ..db import tasks as task_db
from ..state_machine.apply import change_job_status, change_task_status
from .common import NO_CONTENT, ManagerError, ApiRequest, Reply


def _job(conn, job_uuid: str):
    job = job_db.fetch_by_uuid(conn, job_uuid)
    if job is None:
        raise ManagerError(404, f"job {job_uuid} does not exist")
    return job


def _own_job(conn, r: ApiRequest):
    """The job of the request's path, if its user may change it (artists: their own jobs only)."""
    job = _job(conn, r.path["job_id"])
    require_job_change(r.user, job["submitted_by"])
    return job


def set_job_status(m: Manager, r: ApiRequest) -> Reply:
    status, reason = r.body["status"], r.body.get("reason", "")
    with m.change() as (conn, changes):
        job = _own_job(conn, r)
        if states.operator_job_status_clears_failures(status):
            job_db.clear_failures_and_blocks(conn, job["id"])
        change_job_status(conn, changes, job["id"], status, reason)
    return NO_CONTENT


def set_job_priority(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        job = _own_job(conn, r)
        job_db.set_priority(conn, job["id"], r.body["priority"])
        events.job_updated(changes, job_db.fetch_by_id(conn, job["id"]))
    return NO_CONTENT


def set_job_tag(m: Manager, r: ApiRequest) -> Reply:
    tag_id, tag_name = r.body.get("id"), r.body.get("name")
    with m.change() as (conn, changes):
        job = _own_job(conn, r)
        tag = None
        if tag_id:
            tag = tag_db.fetch_by_uuid(conn, tag_id)
        elif tag_name:
            tag = tag_db.fetch_by_name(conn, tag_name)
        if (tag_id or tag_name) and tag is None:
            raise ManagerError(406, f"worker tag {tag_id or tag_name!r} does not exist")
        job_db.set_worker_tag(conn, job["id"], tag["id"] if tag else None)
        events.job_updated(changes, job_db.fetch_by_id(conn, job["id"]))
    return NO_CONTENT


def _blocklist(conn, job_uuid: str) -> list:
    job = job_db.fetch_by_uuid(conn, job_uuid)
    return job_db.blocklist(conn, job["id"]) if job else []


def fetch_job_blocklist(m: Manager, r: ApiRequest) -> Reply:
    rows = m.db.read(_blocklist, r.path["job_id"])
    entries = [{"worker_id": row["worker_uuid"], "worker_name": row["worker_name"], "task_type": row["task_type"]}
               for row in rows]
    return Reply(200, entries)


def remove_job_blocklist(m: Manager, r: ApiRequest) -> Reply:
    entries = r.body
    if not entries:
        raise ManagerError(400, "give at least one blocklist entry to remove")
    with m.change() as (conn, _changes):
        job = _own_job(conn, r)
        for entry in entries:
            job_db.remove_block(conn, job["id"], entry["worker_id"], entry["task_type"])
    return NO_CONTENT


def delete_job(m: Manager, r: ApiRequest) -> Reply:
    with m.db.tx() as conn:
        job = _own_job(conn, r)
    job_deletion.request_deletion(m, [job["id"]])
    return NO_CONTENT


def delete_job_what_would_it_do(m: Manager, r: ApiRequest) -> dict[str, Any]:
    job = m.db.read(_job, r.path["job_id"])
    return {"shaman_checkout": job_deletion.has_checkout(m, job["storage_shaman_checkout_id"])}


def delete_job_mass(m: Manager, r: ApiRequest) -> Reply:
    body = r.body or {}
    if not body.get("last_updated_max"):
        raise ManagerError(400, "last_updated_max is required: jobs updated at or before it are deleted")
    moment = datetime.fromisoformat(body["last_updated_max"].replace("Z", "+00:00"))
    ids = job_deletion.jobs_updated_up_to(m, moment)
    if not ids:
        raise ManagerError(416, f"no jobs were last updated at or before {body['last_updated_max']}")
    job_deletion.request_deletion(m, ids)
    return NO_CONTENT


def set_task_status(m: Manager, r: ApiRequest) -> Reply:
    status, reason = r.body["status"], r.body.get("reason", "")
    with m.change() as (conn, changes):
        task = task_db.fetch_by_uuid(conn, r.path["task_id"])
        if task is None:
            raise ManagerError(404, f"task {r.path['task_id']} does not exist")
        require_job_change(r.user, job_db.fetch_by_id(conn, task["job_id"])["submitted_by"])
        if states.operator_task_status_clears_failures(status):
            task_db.clear_failures(conn, task["id"])
        if reason:
            changes.log(task["job_uuid"], task["uuid"], f"status change to {status} requested: {reason}")
        change_task_status(conn, changes, task, status, activity=reason or None)
    return NO_CONTENT


HANDLERS = {
    "setJobStatus": set_job_status,
    "setJobPriority": set_job_priority,
    "setJobTag": set_job_tag,
    "fetchJobBlocklist": fetch_job_blocklist,
    "removeJobBlocklist": remove_job_blocklist,
    "deleteJob": delete_job,
    "deleteJobWhatWouldItDo": delete_job_what_would_it_do,
    "deleteJobMass": delete_job_mass,
    "setTaskStatus": set_task_status,
}
