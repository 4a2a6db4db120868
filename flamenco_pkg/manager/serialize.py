"""Database rows to API-shaped dicts (the schemas of the OpenAPI spec).

Optional fields are left out, never null, as Flamenco's clients expect.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .db.connection import from_db_time
from .db.workers import split_types

ZERO_TIME = "0001-01-01T00:00:00Z"


def api_time(db_time: str | None) -> str:
    """Database time text to RFC 3339 UTC with trailing fraction zeros trimmed.

    Stored times (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) are cut as text: parsing
    each one cost more than the rest of a 100k-row list together.
    """
    if db_time and len(db_time) == 27 and db_time[19] == "." and db_time[26] == "Z":
        fraction = db_time[20:26].rstrip("0")
        return db_time[:19] + ("." + fraction if fraction else "") + "Z"
    moment = from_db_time(db_time)
    if moment is None:
        return ZERO_TIME
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ("." + f"{moment.microsecond:06d}").rstrip("0")
    return text + "Z"


def job(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["uuid"],
        "name": row["name"],
        "type": row["job_type"],
        "priority": row["priority"],
        "submitter_platform": "",
        "settings": json.loads(row["settings"] or "{}"),
        "metadata": json.loads(row["metadata"] or "{}"),
        "created": api_time(row["created_at"]),
        "updated": api_time(row["updated_at"]),
        "status": row["status"],
        "activity": row["activity"],
        "steps_completed": row["steps_completed"],
        "steps_total": row["steps_total"],
    }
    if row["worker_tag_uuid"]:
        out["worker_tag"] = row["worker_tag_uuid"]
    if row["storage_shaman_checkout_id"]:
        out["storage"] = {"shaman_checkout_id": row["storage_shaman_checkout_id"]}
    if row["delete_requested_at"]:
        out["delete_requested_at"] = api_time(row["delete_requested_at"])
    if row["submitted_by"]:
        out["submitted_by"] = row["submitted_by"]
    return out


def worker_ref(uuid: str | None, name: str, address: str, deleted_at: str | None) -> dict[str, str]:
    """A TaskWorker: empty strings when none, name and address blank once deleted."""
    if not uuid:
        return {"id": "", "name": "", "address": ""}
    if deleted_at:
        return {"id": uuid, "name": "", "address": ""}
    return {"id": uuid, "name": name, "address": address}


def task_worker(row: sqlite3.Row) -> dict[str, str]:
    """The last worker a task was assigned to."""
    return worker_ref(row["worker_uuid"], row["worker_name"], row["worker_address"], row["worker_deleted_at"])


def task_summary(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["uuid"],
        "name": row["name"],
        "status": row["status"],
        "index_in_job": row["index_in_job"],
        "priority": row["priority"],
        "task_type": row["type"],
        "updated": api_time(row["updated_at"]),
        "worker": task_worker(row),
        "steps_completed": row["steps_completed"],
        "steps_total": row["steps_total"],
    }


def task(row: sqlite3.Row, failed_by: list[sqlite3.Row]) -> dict[str, Any]:
    out = task_summary(row)
    out.update({
        "created": api_time(row["created_at"]),
        "job_id": row["job_uuid"],
        "activity": row["activity"],
        "commands": json.loads(row["commands"] or "[]"),
        "failed_by_workers": [worker_ref(w["uuid"], w["name"], w["address"], w["deleted_at"]) for w in failed_by],
    })
    if row["last_touched_at"]:
        out["last_touched"] = api_time(row["last_touched_at"])
    return out


def registered_worker(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "uuid": row["uuid"],
        "name": row["name"],
        "address": row["address"],
        "platform": row["platform"],
        "software": row["software"],
        "status": row["status"],
        "supported_task_types": split_types(row["supported_task_types"]),
    }


def worker_summary(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row["uuid"],
        "name": row["name"],
        "status": row["status"],
        "version": row["software"],
        "can_restart": bool(row["can_restart"]),
    }
    if row["status_requested"]:
        out["status_change"] = {"status": row["status_requested"], "is_lazy": bool(row["lazy_status_request"])}
    if row["last_seen_at"]:
        out["last_seen"] = api_time(row["last_seen_at"])
    return out


def tag(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["uuid"], "name": row["name"]}
    if row["description"]:
        out["description"] = row["description"]
    return out


def worker_task(row: sqlite3.Row) -> dict[str, Any]:
    """WorkerTask: a task summary plus its job, as shown on a worker's page."""
    out = task_summary(row)
    out["job_id"] = row["job_uuid"]
    return out
