"""The `worker-mgt` API tag: workers, their status requests, tags and sleep schedules."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime, timezone
from typing import Any

from .. import events, serialize
from ..sleep import schedule as sleep_schedule
from ..sleep.scheduler import apply_schedule, next_check_text
from ..state_machine import rules as states
from ..state_machine import workers as worker_states
from ..context import Manager
from ..db import tags as tag_db
from ..db import workers as worker_db
from .common import NO_CONTENT, ManagerError, ApiRequest, Reply, encode_json_list


def _worker(conn, worker_uuid: str):
    worker = worker_db.fetch_by_uuid(conn, worker_uuid)
    if worker is None:
        raise ManagerError(404, f"worker {worker_uuid} does not exist")
    return worker


def _workers_json(conn) -> bytes:
    return encode_json_list("workers", worker_db.fetch_all(conn), serialize.worker_summary)


def fetch_workers(m: Manager, r: ApiRequest) -> Reply:
    return Reply(200, m.db.read(_workers_json))


def _worker_details(conn, worker_uuid: str) -> dict[str, Any]:
    worker = _worker(conn, worker_uuid)
    task = worker_db.last_task(conn, worker["id"])
    tags = worker_db.tags(conn, worker["id"])
    out = serialize.worker_summary(worker)
    out.update({"ip_address": worker["address"], "platform": worker["platform"],
                "supported_task_types": worker_db.split_types(worker["supported_task_types"])})
    if task is not None:
        out["task"] = serialize.worker_task(task)
    if tags:
        out["tags"] = [serialize.tag(t) for t in tags]
    return out


def fetch_worker(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return m.db.read(_worker_details, r.path["worker_id"])


def delete_worker(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        worker = _worker(conn, r.path["worker_id"])
        change = states.worker_deleted(worker["status"], worker_states.current_request(worker))
        worker_states.apply(conn, changes, worker, change, f"worker {worker['name']} was deleted")
        worker_db.soft_delete(conn, worker["id"])
        events.worker_updated(changes, worker_db.fetch_by_id(conn, worker["id"]))
    m.worker_auth.forget(worker["uuid"])
    return NO_CONTENT


def request_worker_status_change(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        worker = _worker(conn, r.path["worker_id"])
        try:
            change = states.operator_requests_worker_status(
                worker["status"], worker_states.current_request(worker), r.body["status"],
                lazy=bool(r.body["is_lazy"]), can_restart=bool(worker["can_restart"]))
        except states.TransitionRefused as exc:
            raise ManagerError(exc.http_status, exc.message) from exc
        worker_states.apply(conn, changes, worker, change, "status change requested")
    return NO_CONTENT


def set_worker_tags(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        worker = _worker(conn, r.path["worker_id"])
        tag_db.set_worker_tags(conn, worker["id"], list(r.body["tag_ids"]))
        events.worker_updated(changes, worker_db.fetch_by_id(conn, worker["id"]))
    return NO_CONTENT


def _schedule(conn, worker_uuid: str):
    worker = worker_db.fetch_by_uuid(conn, worker_uuid)
    return worker_db.fetch_schedule(conn, worker["id"]) if worker else None


def fetch_sleep_schedule(m: Manager, r: ApiRequest) -> dict[str, Any] | Reply:
    row = m.db.read(_schedule, r.path["worker_id"])
    if row is None:
        return NO_CONTENT
    return {"is_active": bool(row["is_active"]), "days_of_week": row["days_of_week"],
            "start_time": row["start_time"], "end_time": row["end_time"]}


def set_sleep_schedule(m: Manager, r: ApiRequest) -> Reply:
    body = r.body
    schedule = sleep_schedule.normalise(sleep_schedule.Schedule(
        bool(body["is_active"]), body.get("days_of_week", ""), body.get("start_time", ""), body.get("end_time", "")))
    now = datetime.now(timezone.utc)
    with m.change() as (conn, changes):
        worker = _worker(conn, r.path["worker_id"])
        worker_db.save_schedule(conn, worker["id"], is_active=schedule.is_active,
                                days_of_week=schedule.days_of_week, start_time=schedule.start_time,
                                end_time=schedule.end_time, next_check=next_check_text(schedule, now))
        apply_schedule(conn, changes, worker, schedule, now)
    return NO_CONTENT


def fetch_worker_tags(m: Manager, r: ApiRequest) -> dict[str, Any]:
    rows = m.db.read(tag_db.fetch_all)
    return {"tags": [serialize.tag(row) for row in rows]}


def create_worker_tag(m: Manager, r: ApiRequest) -> dict[str, Any]:
    body = r.body
    name = body["name"].strip()
    if not name:
        raise ManagerError(400, "a worker tag needs a name")
    tag_uuid = body.get("id") or str(uuidlib.uuid4())
    with m.change() as (conn, changes):
        if tag_db.fetch_by_name(conn, name) is not None:
            raise ManagerError(409, f"a worker tag named {name!r} already exists")
        if tag_db.fetch_by_uuid(conn, tag_uuid) is not None:
            raise ManagerError(409, f"a worker tag with id {tag_uuid} already exists")
        tag_db.insert(conn, tag_uuid, name, body.get("description", ""))
        tag = serialize.tag(tag_db.fetch_by_uuid(conn, tag_uuid))
        events.worker_tag_updated(changes, tag)
    return tag


def _tag(conn, tag_uuid: str):
    tag = tag_db.fetch_by_uuid(conn, tag_uuid)
    if tag is None:
        raise ManagerError(404, f"worker tag {tag_uuid} does not exist")
    return tag


def fetch_worker_tag(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return serialize.tag(m.db.read(_tag, r.path["tag_id"]))


def update_worker_tag(m: Manager, r: ApiRequest) -> Reply:
    name = r.body["name"].strip()
    if not name:
        raise ManagerError(400, "a worker tag needs a name")
    with m.change() as (conn, changes):
        tag = _tag(conn, r.path["tag_id"])
        other = tag_db.fetch_by_name(conn, name)
        if other is not None and other["id"] != tag["id"]:
            raise ManagerError(409, f"a worker tag named {name!r} already exists")
        tag_db.update(conn, tag["id"], name, r.body.get("description"))
        events.worker_tag_updated(changes, serialize.tag(tag_db.fetch_by_uuid(conn, tag["uuid"])))
    return NO_CONTENT


def delete_worker_tag(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        tag = _tag(conn, r.path["tag_id"])
        tag_db.delete(conn, tag["id"])
        events.worker_tag_updated(changes, {"id": tag["uuid"], "name": ""}, was_deleted=True)
    return NO_CONTENT


HANDLERS = {
    "fetchWorkers": fetch_workers,
    "fetchWorker": fetch_worker,
    "deleteWorker": delete_worker,
    "requestWorkerStatusChange": request_worker_status_change,
    "setWorkerTags": set_worker_tags,
    "fetchWorkerSleepSchedule": fetch_sleep_schedule,
    "setWorkerSleepSchedule": set_sleep_schedule,
    "fetchWorkerTags": fetch_worker_tags,
    "createWorkerTag": create_worker_tag,
    "fetchWorkerTag": fetch_worker_tag,
    "updateWorkerTag": update_worker_tag,
    "deleteWorkerTag": delete_worker_tag,
}
