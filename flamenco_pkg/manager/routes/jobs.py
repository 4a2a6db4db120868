"""The `jobs` API tag (job types, submission, jobs and tasks), read side and submit."""

from __future__ import annotations

import sqlite3
from typing import Any

from .. import serialize, submission
from ..context import Manager
from ..db import jobs as job_db
from ..db import tasks as task_db
from ..job_types import JobTypeError
from .common import NO_CONTENT, ManagerError, ApiRequest, Reply, encode_json_list


def get_job_types(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return {"job_types": m.job_types.list_types()}


def get_job_type(m: Manager, r: ApiRequest) -> dict[str, Any]:
    try:
        return m.job_types.get_type(r.path["typeName"])
    except JobTypeError as exc:
        raise ManagerError(exc.http_status, exc.message) from exc


def submit_job(m: Manager, r: ApiRequest) -> dict[str, Any]:
    user = r.user
    return submission.submit(m, r.body, submitted_by=user.username if user is not None and user.is_user else None)


def submit_job_check(m: Manager, r: ApiRequest) -> Reply:
    submission.check_submission(m, r.body)
    return NO_CONTENT


# Reads run in Database.read's threads, row conversion and JSON encoding
# included, so a list of 100,000 rows does not hold up the Workers' calls.

def _jobs_json(conn: sqlite3.Connection, limit: int, offset: int, sort: str) -> bytes:
    return encode_json_list("jobs", job_db.fetch_page(conn, limit, offset, sort), serialize.job)


def fetch_jobs(m: Manager, r: ApiRequest) -> Reply:
    return Reply(200, m.db.read(_jobs_json, r.query.get("limit", -1), r.query.get("offset", 0),
                                r.query.get("sort", "created")))


def fetch_job(m: Manager, r: ApiRequest) -> dict[str, Any]:
    row = m.db.read(job_db.fetch_by_uuid, r.path["job_id"])
    if row is None:
        raise ManagerError(404, f"job {r.path['job_id']} does not exist")
    return serialize.job(row)


def _job_tasks_json(conn: sqlite3.Connection, job_uuid: str, limit: int, offset: int) -> bytes:
    job = job_db.fetch_by_uuid(conn, job_uuid)
    rows = task_db.iter_for_job(conn, job["id"], limit, offset) if job else []
    return encode_json_list("tasks", rows, serialize.task_summary)


def fetch_job_tasks(m: Manager, r: ApiRequest) -> Reply:
    return Reply(200, m.db.read(_job_tasks_json, r.path["job_id"], r.query.get("limit", -1),
                                r.query.get("offset", 0)))


def _task_and_failures(conn: sqlite3.Connection, task_uuid: str):
    row = task_db.fetch_by_uuid(conn, task_uuid)
    return row, (task_db.failed_by_workers(conn, row["id"]) if row else [])


def _task(m: Manager, task_uuid: str):
    row, failed_by = m.db.read(_task_and_failures, task_uuid)
    if row is None:
        raise ManagerError(404, f"task {task_uuid} does not exist")
    return row, failed_by


def fetch_task(m: Manager, r: ApiRequest) -> dict[str, Any]:
    row, failed_by = _task(m, r.path["task_id"])
    return serialize.task(row, failed_by)


def fetch_task_log_info(m: Manager, r: ApiRequest) -> dict[str, Any] | Reply:
    row, _ = _task(m, r.path["task_id"])
    size = m.task_logs.size(row["job_uuid"], row["uuid"])
    if size == 0:
        return NO_CONTENT
    return {"task_id": row["uuid"], "job_id": row["job_uuid"],
            "url": m.task_logs.url(row["job_uuid"], row["uuid"]), "size": size}


def fetch_task_log_tail(m: Manager, r: ApiRequest) -> Reply:
    row, _ = _task(m, r.path["task_id"])
    tail = m.task_logs.tail(row["job_uuid"], row["uuid"])
    if not tail:
        return NO_CONTENT
    return Reply(200, tail.encode("utf-8"), content_type="text/plain; charset=UTF-8")


HANDLERS = {
    "getJobTypes": get_job_types,
    "getJobType": get_job_type,
    "submitJob": submit_job,
    "submitJobCheck": submit_job_check,
    "fetchJobs": fetch_jobs,
    "fetchJob": fetch_job,
    "fetchJobTasks": fetch_job_tasks,
    "fetchTask": fetch_task,
    "fetchTaskLogInfo": fetch_task_log_info,
    "fetchTaskLogTail": fetch_task_log_tail,
}
