"""Applies the status machines (states.py) to the database.

The only code that writes job and task statuses. Each function runs inside
the caller's transaction and records log lines and events on its `Changes`,
which are written and sent after the commit.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from typing import Any

from flamenco_pkg.api.statuses import TaskStatus

from .. import events
from . import rules as states
from ..db import job_dependencies as dep_db
from ..db import jobs as job_db
from ..db import tasks as task_db
from ..db import workers as worker_db
from ..events import Changes


def apply_job_steps(conn: sqlite3.Connection, changes: Changes, job_id: int,
                    steps: list[states.JobStep]) -> None:
    for step in steps:
        job_db.set_status(conn, job_id, step.new_status, step.activity)
        by_status: dict[str, list[int]] = {}
        for task_id, status in step.task_changes.items():
            by_status.setdefault(str(status), []).append(task_id)
        for status, ids in by_status.items():
            task_db.set_clock(conn, job_id, ids, states.task_clock(None, status))
            task_db.mass_set_status(conn, ids, status, step.task_activity)
        if step.recompute_steps:
            task_db.steps_follow_status(conn, job_id)
            job_db.recompute_steps(conn, job_id)
        job = job_db.fetch_by_id(conn, job_id)
        events.job_updated(changes, job, previous_status=step.old_status, refresh_tasks=step.refresh_tasks)
    if not steps:
        return
    if any(states.dependency_change_matters(step.old_status, step.new_status) for step in steps):
        for dependent_id in dep_db.dependent_ids(conn, job_id):
            settle_dependencies(conn, changes, dependent_id)
    if steps[-1].new_status == "queued":
        settle_dependencies(conn, changes, job_id)


def settle_dependencies(conn: sqlite3.Connection, changes: Changes, job_id: int) -> None:
    """Bring a job in line with its dependencies (`dependent_job_decision`): hold it when one
    failed or was canceled, let it wait again when that one is requeued, say what it waits for."""
    job = job_db.fetch_by_id(conn, job_id)
    decision = states.dependent_job_decision(job["status"], bool(job["dependency_paused"]),
                                             dep_db.dependencies(conn, job_id))
    if decision is None:
        return
    if decision.status is None:
        if decision.reason != job["activity"]:
            dep_db.set_activity(conn, job_id, decision.reason)
            events.job_updated(changes, job_db.fetch_by_id(conn, job_id))
        return
    dep_db.set_dependency_paused(conn, job_id, decision.dependency_paused)
    change_job_status(conn, changes, job_id, decision.status, decision.reason)


def change_job_status(conn: sqlite3.Connection, changes: Changes, job_id: int, new_status: str,
                      reason: str) -> None:
    job = job_db.fetch_by_id(conn, job_id)
    statuses = job_db.task_statuses(conn, job_id) if states.job_entry_reads_tasks(new_status) else {}
    steps = states.job_status_entered(job["status"], new_status, statuses, reason)
    apply_job_steps(conn, changes, job_id, steps)


def change_task_status(conn: sqlite3.Connection, changes: Changes, task: Mapping[str, Any], new_status: str,
                       *, activity: str | None = None, cascade: bool = True, touched: bool = False,
                       assign_to: Mapping[str, Any] | None = None,
                       job_status: str | None = None,
                       job_counts: Mapping[str, int] | None = None) -> Mapping[str, Any]:
    """One task's status change, with its log line, event and job cascade; returns the task as changed.

    The cascade runs even when the status did not really change, as upstream
    does, so a job stuck in pause-requested still settles. `cascade=False` is
    for callers that decide the job's status themselves. `touched` marks the
    task as touched by its Worker; `assign_to` (a Worker row) hands it to that
    Worker, in the same UPDATE. `job_status`: the job's status, from a read
    in this transaction that nothing since can have changed (the task row a
    hot path has just read); where the rules do not need the job's task
    counts for this change (`job_decision_needs_counts`), nothing more is
    read. `job_counts`: with `job_status`, the job's tasks per status as read
    with it, before this change; the counts after it follow (as migration
    0002's trigger keeps them), so nothing is read. Without either, the
    status and counts are read.
    """
    old = task["status"]
    if old != new_status:
        steps = (task["steps_total"] if new_status == TaskStatus.COMPLETED
                 else 0 if new_status == TaskStatus.QUEUED else None)
        changed = task_db.change_status(conn, task["id"], new_status, clock=str(states.task_clock(old, new_status)),
                                        activity=activity, steps_completed=steps, touched=touched,
                                        worker_id=assign_to["id"] if assign_to is not None else None)
        if steps is not None and steps != task["steps_completed"]:
            task_db.add_job_steps(conn, task["job_id"], steps - task["steps_completed"], changed["updated_at"])
        task = {**dict(zip(task.keys(), task)), **dict(zip(changed.keys(), changed))}  # dict(row) looks up each key by a scan
        if assign_to is not None:
            task.update(worker_uuid=assign_to["uuid"], worker_name=assign_to["name"],
                        worker_address=assign_to["address"], worker_deleted_at=assign_to["deleted_at"])
        changes.log(task["job_uuid"], task["uuid"], f"task changed status {old} -> {new_status}")
        events.task_updated(changes, task, previous_status=old)
    else:
        if assign_to is not None:
            raise ValueError("a task is assigned only as it changes status")
        if touched:
            task_db.touch(conn, task["id"], activity=activity)
        elif activity is not None:
            task_db.set_activity(conn, task["id"], activity)
    if not cascade:
        return task
    if job_status is None:
        job_status, counts = job_db.status_and_task_counts(conn, task["job_id"])
    elif job_counts is not None:
        counts = Counter(job_counts)
        if old != new_status:
            counts[old] -= 1
            counts[new_status] += 1
    elif states.job_decision_needs_counts(job_status, new_status):
        job_status, counts = job_db.status_and_task_counts(conn, task["job_id"])
    else:
        counts = Counter()  # not read by the rules for this change
    decision = states.job_status_after_task_change_counts(job_status, new_status, counts)
    if decision is not None:
        change_job_status(conn, changes, task["job_id"], decision.status, decision.reason)
    return task


def return_worker_tasks(conn: sqlite3.Connection, changes: Changes, worker: sqlite3.Row, reason: str) -> None:
    """Give a worker's active tasks back to the pool (sign-off, timeout, ...)."""
    for task in task_db.active_for_worker(conn, worker["id"]):
        target = states.returned_task_status(task["job_status"])
        changes.log(task["job_uuid"], task["uuid"],
                    f"task returned to the pool ({target}): {reason}")
        change_task_status(conn, changes, task, target, activity=f"Returned to the pool: {reason}"[:255])


def worker_failed_task(conn: sqlite3.Connection, changes: Changes, task: sqlite3.Row, worker: sqlite3.Row,
                       *, blocklist_threshold: int, softfail_limit: int) -> None:
    """A worker reported `failed`: soft-fail, hard-fail, blocklist, maybe fail the job."""
    task_db.add_failure(conn, task["id"], worker["id"])
    job = job_db.fetch_by_id(conn, task["job_id"])
    others = worker_db.eligible_other_workers(
        conn, job_id=job["id"], task_id=task["id"], task_type=task["type"], worker_tag_id=job["worker_tag_id"])
    verdict = states.failure_verdict(
        workers_failed_this_task=task_db.count_failures(conn, task["id"]),
        this_worker_failures_of_type_in_job=task_db.worker_failures_of_type(conn, job["id"], worker["id"], task["type"]),
        blocklist_threshold=blocklist_threshold,
        softfail_limit=softfail_limit,
        other_eligible_workers=len([w for w in others if w != worker["id"]]),
        task_type=task["type"],
        worker_name=worker["name"],
    )
    if verdict.block_worker:
        worker_db.add_block(conn, job["id"], worker["id"], task["type"])
    if verdict.requeue_workers_failed_tasks:
        for task_id in task_db.failed_by_worker_in_job(conn, job["id"], worker["id"], task["type"]):
            other = task_db.fetch_by_id(conn, task_id)
            changes.log(other["job_uuid"], other["uuid"], f"task returned to the pool: {verdict.block_reason}")
            change_task_status(conn, changes, other, states.returned_task_status(other["job_status"]),
                               activity=f"Returned to the pool: {verdict.block_reason}"[:255])
    changes.log(task["job_uuid"], task["uuid"], verdict.log_line)
    change_task_status(conn, changes, task_db.fetch_by_id(conn, task["id"]), verdict.task_status,
                       cascade=not verdict.fail_job)
    if verdict.fail_job:
        changes.log(task["job_uuid"], task["uuid"], f"job failed: {verdict.job_reason}")
        change_job_status(conn, changes, job["id"], "failed", verdict.job_reason or "")
