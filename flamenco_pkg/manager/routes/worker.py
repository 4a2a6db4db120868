"""The `worker` API tag: what Workers call to register, get tasks and report."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from .. import events, scheduler, serialize
from ..sleep import scheduler as sleep_scheduler
from ..state_machine import rules as states
from ..state_machine import workers as worker_states
from ..context import Manager
from ..db import jobs as job_db
from ..db import tasks as task_db
from ..db import workers as worker_db
from ..state_machine.apply import change_task_status, worker_failed_task
from ..worker_auth import MAX_SECRET_BYTES, hash_secret, secret_fits
from .common import NO_CONTENT, ManagerError, ApiRequest, Reply


def _types(values: list[str]) -> list[str]:
    return [t.strip().lower() for t in values if t.strip()]


def register_worker(m: Manager, r: ApiRequest) -> dict[str, Any]:
    body = r.body
    if not body["secret"]:
        raise ManagerError(400, "a worker must register with a non-empty secret")
    if not secret_fits(body["secret"]):
        raise ManagerError(400, f"a worker secret may be at most {MAX_SECRET_BYTES} bytes long")
    with m.change() as (conn, _changes):
        worker_id = worker_db.insert_worker(
            conn, uuid=str(uuidlib.uuid4()), secret_hash=hash_secret(body["secret"]),
            name=body["name"].strip()[:64], address=r.remote_addr[:39], platform=body["platform"].strip().lower()[:16],
            supported_task_types=_types(body["supported_task_types"]),
            status=states.worker_registered().status)
        row = worker_db.fetch_by_id(conn, worker_id)
    return serialize.registered_worker(row)


def sign_on(m: Manager, r: ApiRequest) -> dict[str, Any]:
    body = r.body
    with m.change() as (conn, changes):
        worker = worker_db.fetch_by_id(conn, r.worker["id"])
        worker_db.sign_on(conn, worker["id"], name=body["name"].strip()[:64], address=r.remote_addr[:39],
                          software=body["software_version"][:32], can_restart=bool(body.get("can_restart")),
                          supported_task_types=_types(body["supported_task_types"]))
        after = worker_db.fetch_by_id(conn, worker["id"])
        previous = worker["status"] if worker["status"] != after["status"] else None
        events.worker_updated(changes, after, previous_status=previous)
        verdict = sleep_scheduler.scheduled_status(conn, worker["id"])
    target = states.sign_on_target_status(worker_states.current_request(after), verdict)
    return {"status_requested": str(target)}


def sign_off(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        worker = worker_db.fetch_by_id(conn, r.worker["id"])
        change = states.worker_signed_off(worker["status"], worker_states.current_request(worker))
        worker_states.apply(conn, changes, worker, change, f"worker {worker['name']} signed off")
    return NO_CONTENT


def worker_state(m: Manager, r: ApiRequest) -> dict[str, Any] | Reply:
    # Database.lookup: an idle Worker's poll never waits for the writer.
    worker = m.db.lookup(worker_db.fetch_by_id, r.worker["id"])
    if not worker["status_requested"]:
        return NO_CONTENT
    return {"status_requested": worker["status_requested"]}


def worker_state_changed(m: Manager, r: ApiRequest) -> Reply:
    with m.change() as (conn, changes):
        worker = worker_db.fetch_by_id(conn, r.worker["id"])
        change = states.worker_reported_status(worker["status"], worker_states.current_request(worker),
                                               r.body["status"])
        worker_states.apply(conn, changes, worker, change,
                            f"worker {worker['name']} changed status to {r.body['status']}")
    return NO_CONTENT


def schedule_task(m: Manager, r: ApiRequest) -> dict[str, Any] | Reply | None:
    wait = r.headers.get("X-Flamenco-Wait")  # our long-poll addition; validated as an integer by the spec
    result = scheduler.assign_or_wait(m, r.worker, int(wait) if wait else 0, r.watch_hangup)
    if isinstance(result, scheduler.StatusChangeRequested):
        return Reply(423, {"status_requested": result.status})
    return result


def task_update(m: Manager, r: ApiRequest) -> Reply:
    body = r.body
    reported = body.get("taskStatus")
    with m.change() as (conn, changes):
        found = task_db.fetch_with_job_counts(conn, r.path["task_id"])
        if found is None:
            raise ManagerError(404, f"task {r.path['task_id']} does not exist")
        task, job_counts = found
        try:
            states.check_worker_task_update(task_status=task["status"],
                                            assigned_to_caller=task["worker_id"] == r.worker["id"],
                                            reported_status=reported)
        except states.TransitionRefused as exc:
            raise ManagerError(exc.http_status, exc.message) from exc
        # A status change touches the task in its own UPDATE; a failure goes its own way.
        changing = bool(reported) and reported != task["status"] and reported != "failed"
        if not changing:
            task_db.touch(conn, task["id"], activity=body.get("activity"))
        if body.get("log"):
            changes.log(task["job_uuid"], task["uuid"], body["log"], timestamp=False)
        if "steps_completed" in body:
            steps = max(0, min(int(body["steps_completed"]), task["steps_total"]))
            if steps != task["steps_completed"]:
                task_db.set_steps(conn, task["id"], task["job_id"], task["steps_completed"], steps)
                task = task_db.fetch_by_id(conn, task["id"])
                events.task_updated(changes, task)
                events.job_updated(changes, job_db.fetch_by_id(conn, task["job_id"]))
        if changing:
            # The job's status and counts as read above: progress and touches do not change them.
            change_task_status(conn, changes, task, reported, activity=body.get("activity"), touched=True,
                               job_status=task["job_status"], job_counts=job_counts)
        elif reported == "failed" and task["status"] != "failed":
            worker = worker_db.fetch_by_id(conn, r.worker["id"])
            worker_failed_task(conn, changes, task_db.fetch_by_id(conn, task["id"]), worker,
                               blocklist_threshold=m.config.blocklist_threshold,
                               softfail_limit=m.config.task_fail_after_softfail_count)
    return NO_CONTENT


def may_worker_run(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return scheduler.may_keep_running(m, r.worker["id"], r.path["task_id"])


HANDLERS = {
    "registerWorker": register_worker,
    "signOn": sign_on,
    "signOff": sign_off,
    "workerState": worker_state,
    "workerStateChanged": worker_state_changed,
    "scheduleTask": schedule_task,
    "taskUpdate": task_update,
    "mayWorkerRun": may_worker_run,
}
