"""Job, task and worker status machines, as pure functions.

Nothing here does I/O: no database, no HTTP, no clock, no logging. Every
function takes plain data (status strings, counts, ``{task_id: status}`` maps)
and returns plain data describing what must change. The database layer applies
the result inside one SQLite write transaction, writes the log lines, and
broadcasts the events. Status arguments may be ``str`` or the enums from
``flamenco_pkg.api.statuses``; unknown status strings raise ``ValueError``.
Results always use the enums (which are ``str`` subclasses).

See ``docs/status-machines.md`` for the rules and the upstream quirks we do not
copy.

Jobs and tasks
--------------
``JobStep`` (frozen dataclass), one applied job status change:
    ``old_status``, ``new_status``: JobStatus
    ``activity``: str, the job activity to store, ``Changed to status "<new>": <reason>``
    ``task_changes``: dict[int, TaskStatus], the tasks of the mass update (task id ->
        new status). Store the status and ``task_activity`` on each; no per-task log
        line and no per-task event.
    ``task_activity``: str ('' when ``task_changes`` is empty)
    ``recompute_steps``: bool, after the task changes set steps_completed =
        steps_total on completed tasks and 0 on queued ones, then re-sum the job.
    ``refresh_tasks``: bool, the job event should carry ``refresh_tasks: true``.
  Apply the steps of a list in order; each one is one job event whose
  ``previous_status`` is ``old_status``.

``job_status_entered(old, new, task_statuses, reason='') -> list[JobStep]``
    The job goes from ``old`` to ``new`` (operator, failure handling, or a
    ``JobDecision`` below). Runs the cascade and all follow-ups, e.g.
    cancel-requested -> [cancel-requested, canceled]. ``new == old`` -> ``[]``.
``job_status_reenforced(status, task_statuses, reason='') -> list[JobStep]``
    Startup stuck-job check: re-runs the cascade of the job's *current* status
    (first step has old == new), then the follow-ups.
``job_status_after_task_change(job_status, new_task_status, task_statuses_after)
        -> JobDecision | None``
    A task got ``new_task_status`` (run it even if the status did not really
    change). ``task_statuses_after`` includes that task's new status.
    ``JobDecision`` is a NamedTuple ``(status: JobStatus, reason: str)``; feed
    it to ``job_status_entered``.
``job_decision_needs_counts(job_status, new_task_status) -> bool``
    Whether the task counts can matter to that decision at all (else a
    caller need not read them); derived by running the rules.
``task_status_changed(job_status, new_task_status, task_statuses_after) -> list[JobStep]``
    The two above combined: the job steps caused by one task status change.
``percent_failed(num_failed, num_total) -> int`` and ``too_many_failed(task_statuses) -> bool``
``returned_task_status(job_status) -> TaskStatus``
    Target of "return to the pool" (sign-off, worker leaving awake, worker
    timeout/deletion, worker blocklisted): paused while the job is
    pause-requested/paused, else queued. Apply it as a single task status
    change (so ``task_status_changed`` runs).
``is_schedulable(task_status, job_status) -> bool``
``task_clock(old, new) -> TaskClock``
    What a task status change does to the task's run times (started_at,
    finished_at): START on entering active, CLEAR on going back to queued (a
    requeued task has not run yet), FINISH on leaving active for anything
    else, KEEP otherwise. Mass updates apply FINISH only to tasks that were
    active (``TaskClock.FINISH_IF_ACTIVE`` from ``task_clock(None, new)``).
``operator_job_status_clears_failures(new) / operator_task_status_clears_failures(new) -> bool``
    Operator ``setstatus`` side effects: job -> requeueing clears the job's
    task failure lists *and* blocklist; task -> queued clears that task's
    failure list. Automatic requeues clear nothing.

Worker task updates (the "late update" rule)
--------------------------------------------
``accept_worker_task_status(task_status, assigned_to_caller) -> bool``
    A worker's report about a task is accepted only while the task is
    ``active`` *and* assigned to that worker. A late ``failed``/``completed``
    therefore never revives a canceled, requeued, paused or timed-out task.
``check_worker_task_update(*, task_status, assigned_to_caller, reported_status)``
    Raises ``TransitionRefused`` (409 for the rule above, 400 for a reported
    ``soft-failed``); returns None when the update may be applied. The caller
    rejects the *whole* update (activity, log and steps too) on 409: the Go
    Worker then drops it and stops work on the task.

Failure handling
----------------
``failure_verdict(*, workers_failed_this_task, this_worker_failures_of_type_in_job,
        blocklist_threshold, softfail_limit, other_eligible_workers, task_type,
        worker_name='') -> FailureVerdict``
    Both counts *include* the current failure: record it in task_failures
    first, then count. ``other_eligible_workers`` = non-deleted workers other
    than the failing one, supporting the task type, in the job's tag (if any),
    not blocklisted for (job, type), not in this task's failure list. Their
    status does not matter (offline/asleep workers count).
    ``FailureVerdict`` fields: ``block_worker``, ``requeue_workers_failed_tasks``,
    ``task_status`` (soft-failed | failed), ``fail_job``, ``job_reason``
    (str | None), ``log_line`` (task log), ``block_reason`` (str | None, also
    the reason text for the requeued tasks).
    Apply in this order: blocklist row; return the worker's other *failed*
    tasks of this job and task type to the pool (``returned_task_status``);
    set ``task_status`` on the task (with its cascade); if ``fail_job``,
    ``job_status_entered(current, 'failed', ..., job_reason)``.

Workers
-------
``WorkerRequest(status: WorkerStatus, lazy: bool)``; "no request" is ``None``.
``WorkerChange(status, request, return_tasks)``: the *complete* new state to
store (status, pending request or None) and whether to return the worker's
active tasks to the pool.
``worker_registered()``, ``worker_signed_on(request)``,
``sign_on_target_status(request, schedule_verdict)``,
``worker_reported_status(old_status, request, reported)``,
``worker_signed_off(old_status, request)``,
``operator_requests_worker_status(current_status, request, requested, *, lazy, can_restart)``
(raises ``TransitionRefused(412)`` for restart without can_restart),
``sleep_scheduler_request(status, request, verdict, *, deleted) -> WorkerChange | None``,
``worker_can_time_out(status, *, deleted)``, ``worker_timed_out()``,
``worker_deleted(status, request)``.

Farm
----
``farm_status(workers: Iterable[(status, deleted)], job_statuses: Iterable[str]) -> FarmStatus``

UI action gates (data only, the API does not enforce them)
----------------------------------------------------------
``JOB_ACTIONS`` / ``TASK_ACTIONS``: action -> allowed current statuses;
``JOB_ACTION_STATUS`` / ``TASK_ACTION_STATUS``: action -> status to send
(``None`` for delete); ``job_action_allowed(action, job_status)``,
``task_action_allowed(action, task_status, job_status)``; ``WORKER_ACTIONS``.
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from ..job_dependencies.rules import Dependency, failed_dependency, waiting_activity
from flamenco_pkg.api.statuses import (
    RUNNABLE_JOB,
    RUNNABLE_TASK,
    SCHEDULABLE_TASK,
    WORKER_ACKED_AT_SIGN_OFF,
    WORKER_NOT_OPERATIVE,
    WORKER_REMEMBERED_AT_SIGN_OFF,
    WORKER_TIMEOUT_EXEMPT,
    FarmStatus,
    JobStatus,
    TaskStatus,
    WorkerStatus,
)

__all__ = [
    "TransitionRefused",
    "JobStep",
    "JobDecision",
    "job_entry_reads_tasks",
    "job_status_entered",
    "job_status_reenforced",
    "job_status_after_task_change",
    "job_status_after_task_change_counts",
    "job_decision_needs_counts",
    "task_status_changed",
    "percent_failed",
    "too_many_failed",
    "TASK_FAIL_JOB_PERCENTAGE",
    "returned_task_status",
    "is_schedulable",
    "TaskClock",
    "task_clock",
    "operator_job_status_clears_failures",
    "operator_task_status_clears_failures",
    "accept_worker_task_status",
    "check_worker_task_update",
    "FailureVerdict",
    "failure_verdict",
    "WorkerRequest",
    "WorkerChange",
    "worker_registered",
    "worker_signed_on",
    "sign_on_target_status",
    "worker_reported_status",
    "worker_signed_off",
    "operator_requests_worker_status",
    "sleep_scheduler_request",
    "worker_can_time_out",
    "worker_timed_out",
    "worker_deleted",
    "farm_status",
    "JOB_ACTIONS",
    "JOB_ACTION_STATUS",
    "TASK_ACTIONS",
    "TASK_ACTION_STATUS",
    "WORKER_ACTIONS",
    "job_action_allowed",
    "task_action_allowed",
]

J = JobStatus
T = TaskStatus
W = WorkerStatus

def _parser(kind: type[enum.Enum]) -> Callable[[str], enum.Enum]:
    """Status strings to enum members by a dict lookup: Enum's own call costs microseconds, and the
    rules run on every task change of every dispatch. Anything else raises Enum's ValueError."""
    by_value = {member.value: member for member in kind}

    def parse(value: str) -> enum.Enum:
        try:
            return by_value[value]
        except (KeyError, TypeError):
            return kind(value)

    return parse


_t = _parser(TaskStatus)
_j = _parser(JobStatus)
_w = _parser(WorkerStatus)

# A job fails once at least this percentage (rounded down) of its tasks failed.
TASK_FAIL_JOB_PERCENTAGE = 10

# Cascades never chain more than a few steps; this only guards against a bug.
_MAX_STEPS = 16


class TransitionRefused(ValueError):
    """A request that the rules refuse; ``http_status`` is the reply code."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


# ---------------------------------------------------------------------------
# Jobs and tasks


@dataclass(frozen=True)
class JobStep:
    old_status: JobStatus
    new_status: JobStatus
    activity: str
    task_changes: dict[int, TaskStatus] = field(default_factory=dict)
    task_activity: str = ""
    recompute_steps: bool = False
    refresh_tasks: bool = False


class JobDecision(NamedTuple):
    status: JobStatus
    reason: str


def _job_activity(new: JobStatus, reason: str, *, reenforced: bool = False) -> str:
    head = f'Re-applied status "{new}"' if reenforced else f'Changed to status "{new}"'
    return f"{head}: {reason}" if reason else head


def _task_map(task_statuses: Mapping[int, str]) -> dict[int, TaskStatus]:
    return {int(tid): _t(status) for tid, status in task_statuses.items()}


def _mass_update(
    tasks: dict[int, TaskStatus], from_statuses: Iterable[TaskStatus] | None, to: TaskStatus
) -> dict[int, TaskStatus]:
    """Tasks whose status is in from_statuses (None = every task) -> ``to``."""
    wanted = None if from_statuses is None else frozenset(from_statuses)
    return {tid: to for tid in sorted(tasks) if wanted is None or tasks[tid] in wanted}


def _cascade(
    old: JobStatus, new: JobStatus, tasks: dict[int, TaskStatus]
) -> tuple[dict[int, TaskStatus], str, bool, bool, JobStatus | None]:
    """The task side of the job entering ``new`` (coming from ``old``).

    Returns (task_changes, task_activity, recompute_steps, refresh_tasks,
    follow_up job status or None).
    """
    if new in (J.CANCEL_REQUESTED, J.FAILED):
        changes = _mass_update(tasks, RUNNABLE_TASK, T.CANCELED)
        activity = f'Canceled by the Manager because the job went to "{new}"'
        follow = J.CANCELED if new == J.CANCEL_REQUESTED else None
        return changes, activity, False, True, follow

    if new == J.PAUSE_REQUESTED:
        changes = _mass_update(tasks, SCHEDULABLE_TASK, T.PAUSED)
        activity = f'Paused by the Manager because the job went to "{new}"'
        after = {**tasks, **changes}
        follow = J.PAUSED if T.ACTIVE not in after.values() else None
        return changes, activity, False, True, follow

    if new == J.REQUEUEING:
        if old == J.UNDER_CONSTRUCTION:
            # Nothing to requeue; the job stays here until the startup check.
            return {}, "", False, True, None
        if old == J.COMPLETED:
            changes = _mass_update(tasks, None, T.QUEUED)
        else:
            changes = _mass_update(
                tasks, (T.CANCELED, T.FAILED, T.PAUSED, T.SOFT_FAILED), T.QUEUED
            )
        activity = f'Queued by the Manager because the job went from "{old}" to "{new}"'
        return changes, activity, True, True, J.QUEUED

    if new == J.QUEUED:
        all_done = all(s == T.COMPLETED for s in tasks.values())
        return {}, "", False, True, (J.COMPLETED if all_done else None)

    if new not in TASKS_UNTOUCHED_ON_ENTRY:
        raise ValueError(f"no cascade rule for a job entering {new}")
    return {}, "", False, False, None


# Job statuses whose entry neither looks at nor changes the job's tasks (the last case of `_cascade`).
TASKS_UNTOUCHED_ON_ENTRY = frozenset({J.ACTIVE, J.COMPLETED, J.CANCELED, J.PAUSED, J.UNDER_CONSTRUCTION})


def job_entry_reads_tasks(new: str) -> bool:
    """Whether `job_status_entered(old, new, ...)` looks at the task statuses it is given.

    When not, the caller may pass `{}`: a 100,000-task job becoming active on
    its first hand-out (or completed on its last) reads no task rows.
    """
    return _j(new) not in TASKS_UNTOUCHED_ON_ENTRY


def _run_steps(
    old: JobStatus,
    new: JobStatus,
    tasks: dict[int, TaskStatus],
    reason: str,
    *,
    reenforce: bool,
) -> list[JobStep]:
    steps: list[JobStep] = []
    current = old
    target: JobStatus | None = new
    first = True
    while target is not None and (target != current or (reenforce and first)):
        if len(steps) >= _MAX_STEPS:
            raise RuntimeError(f"job status cascade does not settle: {[s.new_status for s in steps]}")
        changes, task_activity, recompute, refresh, follow = _cascade(current, target, tasks)
        steps.append(
            JobStep(
                old_status=current,
                new_status=target,
                activity=_job_activity(target, reason, reenforced=reenforce and first),
                task_changes=changes,
                task_activity=task_activity if changes else "",
                recompute_steps=recompute,
                refresh_tasks=refresh,
            )
        )
        tasks.update(changes)
        current, target, first = target, follow, False
    return steps


def job_status_entered(
    old: str, new: str, task_statuses: Mapping[int, str], reason: str = ""
) -> list[JobStep]:
    """All job steps caused by the job going from ``old`` to ``new``.

    ``task_statuses`` maps every task id of the job to its current status.
    Returns ``[]`` when ``new == old`` (nothing is saved, nothing cascades).
    Every step carries the same ``reason`` in its activity.
    """
    return _run_steps(_j(old), _j(new), _task_map(task_statuses), reason, reenforce=False)


def job_status_reenforced(
    status: str, task_statuses: Mapping[int, str], reason: str = "checking stuck jobs"
) -> list[JobStep]:
    """Re-run the cascade of the job's current status (startup stuck-job check).

    Meant for cancel-requested, requeueing and pause-requested jobs
    (``JOB_STUCK_CHECK``). A requeueing job is treated as coming from
    requeueing itself, so only unfinished tasks are requeued.
    """
    s = _j(status)
    return _run_steps(s, s, _task_map(task_statuses), reason, reenforce=True)


def percent_failed(num_failed: int, num_total: int) -> int:
    """⌊100·failed/total⌋; 0 for a job without tasks."""
    if num_failed < 0 or num_total < 0:
        raise ValueError("task counts cannot be negative")
    if num_total == 0:
        return 0
    return (100 * num_failed) // num_total


def too_many_failed(task_statuses: Mapping[int, str] | Iterable[str]) -> bool:
    """Whether the job should fail: failed% >= 10 (soft-failed does not count)."""
    values = list(task_statuses.values() if isinstance(task_statuses, Mapping) else task_statuses)
    num_failed = sum(1 for s in values if _t(s) == T.FAILED)
    return percent_failed(num_failed, len(values)) >= TASK_FAIL_JOB_PERCENTAGE


def job_status_after_task_change(
    job_status: str, new_task_status: str, task_statuses_after: Mapping[int, str]
) -> JobDecision | None:
    """The job status a task status change leads to, or None.

    ``task_statuses_after``: every task of the job, including the changed one
    with its new status. Never returns the job's current status.
    """
    counts = Counter(_t(s) for s in task_statuses_after.values())
    return job_status_after_task_change_counts(job_status, new_task_status, counts)


def job_status_after_task_change_counts(
    job_status: str, new_task_status: str, status_counts: Mapping[str, int]
) -> JobDecision | None:
    """As job_status_after_task_change, from the number of tasks per status.

    The database counts a job's tasks per status without loading every row,
    which matters for jobs with 100k tasks.
    """
    decision = _job_decision(_j(job_status), _t(new_task_status), lambda: status_counts)
    if decision is None or decision.status == _j(job_status):
        return None
    return decision


@functools.cache
def job_decision_needs_counts(job_status: str, new_task_status: str) -> bool:
    """Whether `job_status_after_task_change_counts` can depend on the job's task counts here.

    Found by running the rules themselves with counts that note being read,
    so it cannot drift from them. When False, the decision is the same for
    any counts, and the caller may skip reading them (a hand-out of a
    queued task in an active job, the commonest change of all).
    """
    read = []

    def counts() -> Mapping[str, int]:
        read.append(True)
        return {}

    _job_decision(_j(job_status), _t(new_task_status), counts)
    return bool(read)


def _job_decision(
    job: JobStatus, task: TaskStatus, status_counts: Callable[[], Mapping[str, int]]
) -> JobDecision | None:
    """The rules; `status_counts` is only called where the answer depends on the counts."""
    def tally() -> tuple[dict[TaskStatus, int], int]:
        counts = {_t(s): n for s, n in status_counts().items() if n}
        return counts, sum(counts.values())

    def pause_check(why: str) -> JobDecision | None:
        if job == J.PAUSE_REQUESTED and not tally()[0].get(T.ACTIVE):
            return JobDecision(J.PAUSED, f"no active task left after a task was {why}")
        return None

    def queued_to_active(why: str) -> JobDecision | None:
        if job == J.QUEUED:
            return JobDecision(J.ACTIVE, why)
        return None

    if task == T.QUEUED:
        if job == J.COMPLETED:
            # The requeueing cascade then requeues *all* tasks of the job.
            return JobDecision(J.REQUEUEING, "a task of the completed job was queued again")
        return None

    if task == T.PAUSED:
        return pause_check("paused")

    if task == T.CANCELED:
        counts, _total = tally()
        if not any(counts.get(s) for s in RUNNABLE_TASK):
            return JobDecision(J.CANCELED, "the last task that could still run was canceled")
        return pause_check("canceled")

    if task == T.FAILED:
        counts, total = tally()
        num_failed = counts.get(T.FAILED, 0)
        pct = percent_failed(num_failed, total)
        if pct >= TASK_FAIL_JOB_PERCENTAGE:
            return JobDecision(
                J.FAILED,
                f"too many tasks failed ({num_failed} of {total}, {pct}%)",
            )
        return pause_check("failed") or queued_to_active("a task failed, but not enough to fail the job")

    if task == T.COMPLETED:
        counts, total = tally()
        if counts.get(T.COMPLETED, 0) == total:
            return JobDecision(J.COMPLETED, "all tasks completed")
        return pause_check("completed") or queued_to_active("a task completed")

    # active, soft-failed
    if job in (J.ACTIVE, J.CANCEL_REQUESTED):
        return None
    if task == T.SOFT_FAILED and job == J.PAUSE_REQUESTED:
        # Deliberate deviation: upstream re-activates the job here and loses
        # the pause request. We keep pausing (and finish it when nothing runs).
        return pause_check("soft-failed")
    return JobDecision(J.ACTIVE, f"a task became {task}")


def task_status_changed(
    job_status: str, new_task_status: str, task_statuses_after: Mapping[int, str]
) -> list[JobStep]:
    """The job steps that follow one task status change (possibly none)."""
    decision = job_status_after_task_change(job_status, new_task_status, task_statuses_after)
    if decision is None:
        return []
    return job_status_entered(job_status, decision.status, task_statuses_after, decision.reason)


def returned_task_status(job_status: str) -> TaskStatus:
    """Where a task goes when its worker gives it back to the pool."""
    if _j(job_status) in (J.PAUSE_REQUESTED, J.PAUSED):
        return T.PAUSED
    return T.QUEUED


class TaskClock(enum.StrEnum):
    START = "start"
    FINISH = "finish"
    FINISH_IF_ACTIVE = "finish-if-active"
    CLEAR = "clear"
    KEEP = "keep"


def task_clock(old: str | None, new: str) -> TaskClock:
    """What a status change from ``old`` (None: not known, a mass update) to ``new`` does to the run times.

    The times describe the task's latest run, so the web UI can show its
    render time: entering active starts a run, leaving it ends one, and a
    task put back in the queue has no run yet.
    """
    new_status = _t(new)
    if old is not None and _t(old) == new_status:
        return TaskClock.KEEP
    if new_status == T.ACTIVE:
        return TaskClock.START
    if new_status == T.QUEUED:
        return TaskClock.CLEAR
    if old is None:
        return TaskClock.FINISH_IF_ACTIVE
    return TaskClock.FINISH if _t(old) == T.ACTIVE else TaskClock.KEEP


def is_schedulable(task_status: str, job_status: str) -> bool:
    return _t(task_status) in SCHEDULABLE_TASK and _j(job_status) in RUNNABLE_JOB


class DependentDecision(NamedTuple):
    """What a job's dependencies mean for it: a status change (None: keep the
    status), the reason or activity, and whether the job is now held
    because of a dependency (`jobs.dependency_paused`)."""

    status: JobStatus | None
    reason: str
    dependency_paused: bool


# Job statuses in which a dependency's change can affect the job.
DEPENDENCY_SENSITIVE = frozenset({J.QUEUED, J.ACTIVE, J.PAUSED, J.PAUSE_REQUESTED})


def dependency_change_matters(old_status: str, new_status: str) -> bool:
    """Whether a job going from old to new can change anything for the jobs depending on it:
    it completed or stopped (failed, canceled), or left one of those."""
    moved = {J.COMPLETED, J.FAILED, J.CANCELED}
    return _j(old_status) != _j(new_status) and (_j(old_status) in moved or _j(new_status) in moved)


def dependent_job_decision(job_status: str, dependency_paused: bool,
                           dependencies: Iterable[Dependency]) -> DependentDecision | None:
    """A job's status and activity given its dependencies (None: nothing to change).

    * A dependency failed or was canceled: a queued job goes to paused, an
      active one (a dependency was requeued after it started, then failed)
      to pause-requested; held because of the dependency.
    * A job held because of a dependency whose dependencies are no longer
      failed or canceled goes back to queued (through requeueing, which also
      requeues the tasks the pause stopped) and waits.
    * A queued or active job otherwise: its activity says what it waits for,
      or that its dependencies completed.
    A job without dependencies is never touched.
    """
    dependencies = list(dependencies)
    if not dependencies:
        return None
    status = _j(job_status)
    failed = failed_dependency(dependencies)
    if failed is not None:
        reason = f"dependency job {failed.label()} {failed.status}"
        if status == J.QUEUED:
            return DependentDecision(J.PAUSED, reason, True)
        if status == J.ACTIVE:
            return DependentDecision(J.PAUSE_REQUESTED, reason, True)
        return None
    waiting = waiting_activity(dependencies)
    if status in (J.PAUSED, J.PAUSE_REQUESTED) and dependency_paused:
        return DependentDecision(J.REQUEUEING, "the failed dependency was requeued", False)
    if status in (J.QUEUED, J.ACTIVE):
        return DependentDecision(None, waiting or "All dependencies completed; ready to run", False)
    return None


def operator_job_status_clears_failures(new_status: str) -> bool:
    """Operator setting a job to this status clears its failure lists and blocklist."""
    return _j(new_status) == J.REQUEUEING


def operator_task_status_clears_failures(new_status: str) -> bool:
    """Operator setting a task to this status clears that task's failure list."""
    return _t(new_status) == T.QUEUED


# ---------------------------------------------------------------------------
# Worker task updates


def accept_worker_task_status(task_status: str, assigned_to_caller: bool) -> bool:
    """Whether a worker may still report on this task."""
    return assigned_to_caller and _t(task_status) == T.ACTIVE


def check_worker_task_update(
    *, task_status: str, assigned_to_caller: bool, reported_status: str | None
) -> None:
    """Raise TransitionRefused when a worker's task update must be rejected."""
    if not assigned_to_caller:
        raise TransitionRefused(409, "task is not assigned to you")
    if reported_status is not None and _t(reported_status) == T.SOFT_FAILED:
        raise TransitionRefused(400, f"task status {T.SOFT_FAILED} may not be sent by a worker")
    if not accept_worker_task_status(task_status, assigned_to_caller):
        raise TransitionRefused(409, f"task is {_t(task_status)}, no longer active")


# ---------------------------------------------------------------------------
# Failure handling


@dataclass(frozen=True)
class FailureVerdict:
    block_worker: bool
    requeue_workers_failed_tasks: bool
    task_status: TaskStatus
    fail_job: bool
    job_reason: str | None
    log_line: str
    block_reason: str | None = None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def failure_verdict(
    *,
    workers_failed_this_task: int,
    this_worker_failures_of_type_in_job: int,
    blocklist_threshold: int,
    softfail_limit: int,
    other_eligible_workers: int,
    task_type: str,
    worker_name: str = "",
) -> FailureVerdict:
    """Decide what a worker's ``failed`` report does (see the module docstring)."""
    if workers_failed_this_task < 1 or this_worker_failures_of_type_in_job < 1:
        raise ValueError("failure counts must include the current failure (>= 1)")
    if other_eligible_workers < 0:
        raise ValueError("other_eligible_workers cannot be negative")

    who = f"worker {worker_name}" if worker_name else "the worker"
    failed_by = f"Task failed by {_plural(workers_failed_this_task, 'worker')}"
    no_workers_reason = f'no more workers left to run tasks of type "{task_type}"'

    block = this_worker_failures_of_type_in_job >= blocklist_threshold
    block_reason = (
        f'{who} was blocklisted for tasks of type "{task_type}" of this job after '
        f"{_plural(this_worker_failures_of_type_in_job, 'failed task')}"
        if block
        else None
    )

    def job_fails(log_line: str) -> FailureVerdict:
        return FailureVerdict(
            block_worker=block,
            requeue_workers_failed_tasks=False,
            task_status=T.FAILED,
            fail_job=True,
            job_reason=no_workers_reason,
            log_line=log_line,
            block_reason=block_reason,
        )

    if block and other_eligible_workers == 0:
        return job_fails(
            f"{failed_by}; {block_reason}, and no other worker can run this task, "
            "so the job fails"
        )

    if workers_failed_this_task >= softfail_limit:
        return FailureVerdict(
            block_worker=block,
            requeue_workers_failed_tasks=block,
            task_status=T.FAILED,
            fail_job=False,
            job_reason=None,
            log_line=f"{failed_by}, which is the limit: it is failed for good",
            block_reason=block_reason,
        )

    if other_eligible_workers == 0:
        return job_fails(f"{failed_by} and no other worker can run it, so the job fails")

    remaining = softfail_limit - workers_failed_this_task
    return FailureVerdict(
        block_worker=block,
        requeue_workers_failed_tasks=block,
        task_status=T.SOFT_FAILED,
        fail_job=False,
        job_reason=None,
        log_line=f"{failed_by}, {remaining} more {'failure' if remaining == 1 else 'failures'} "
        "until it is failed for good",
        block_reason=block_reason,
    )


# ---------------------------------------------------------------------------
# Workers


@dataclass(frozen=True)
class WorkerRequest:
    status: WorkerStatus
    lazy: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", _w(self.status))


@dataclass(frozen=True)
class WorkerChange:
    status: str  # a WorkerStatus
    request: WorkerRequest | None
    return_tasks: bool = False


def _status(value: str) -> str:
    return "" if value == "" else _w(value)


def worker_registered() -> WorkerChange:
    """Registration: offline until the worker signs on (upstream sends "", which is no WorkerStatus)."""
    return WorkerChange(status=W.OFFLINE, request=None)


def worker_signed_on(request: WorkerRequest | None) -> WorkerChange:
    """Sign-on: status starting, the pending request is kept."""
    return WorkerChange(status=W.STARTING, request=request)


def sign_on_target_status(request: WorkerRequest | None, schedule_verdict: str | None) -> WorkerStatus:
    """The status the sign-on reply sends the worker to.

    ``schedule_verdict``: the sleep schedule's verdict, None without an active
    schedule.
    """
    if request is not None:
        return request.status
    return _w(schedule_verdict) if schedule_verdict else W.AWAKE


def worker_reported_status(old_status: str, request: WorkerRequest | None, reported: str) -> WorkerChange:
    """The worker says it is now in ``reported`` (``POST /worker/state-changed``)."""
    new = _w(reported)
    keep = request if (request is not None and request.status != new) else None
    return WorkerChange(
        status=new,
        request=keep,
        return_tasks=_status(old_status) == W.AWAKE and new != W.AWAKE,
    )


def worker_signed_off(old_status: str, request: WorkerRequest | None) -> WorkerChange:
    """Sign-off: offline; remember awake/asleep for the next sign-on."""
    old = _status(old_status)
    if request is not None and request.status in WORKER_ACKED_AT_SIGN_OFF:
        request = None
    if request is None and old in WORKER_REMEMBERED_AT_SIGN_OFF:
        request = WorkerRequest(_w(old), lazy=False)
    return WorkerChange(status=W.OFFLINE, request=request, return_tasks=True)


def operator_requests_worker_status(
    current_status: str,
    request: WorkerRequest | None,
    requested: str,
    *,
    lazy: bool,
    can_restart: bool,
) -> WorkerChange:
    """Operator asks the worker to go to ``requested`` (lazily or immediately)."""
    wanted = _w(requested)
    if wanted == W.RESTART and not can_restart:
        raise TransitionRefused(412, "worker does not know how to restart")
    current = _status(current_status)
    new_request = None if wanted == current else WorkerRequest(wanted, lazy)
    return WorkerChange(status=current, request=new_request)


def sleep_scheduler_request(
    status: str, request: WorkerRequest | None, verdict: str, *, deleted: bool
) -> WorkerChange | None:
    """What the sleep schedule does to a worker; None = leave it alone."""
    current = _status(status)
    want = _w(verdict)
    if deleted or current == W.ERROR:
        return None
    if request is not None and request.status == want and not request.lazy:
        return None
    if request is None and current == want:
        return None
    return WorkerChange(status=current, request=WorkerRequest(want, lazy=False))


def worker_can_time_out(status: str, *, deleted: bool) -> bool:
    return not deleted and _status(status) not in WORKER_TIMEOUT_EXEMPT


def worker_timed_out() -> WorkerChange:
    """Worker timeout: error, request cleared, tasks back to the pool."""
    return WorkerChange(status=W.ERROR, request=None, return_tasks=True)


def worker_deleted(status: str, request: WorkerRequest | None) -> WorkerChange:
    """Soft delete: status and request stay as they are; tasks go back first."""
    return WorkerChange(status=_status(status), request=request, return_tasks=True)


# ---------------------------------------------------------------------------
# Farm status


def farm_status(workers: Iterable[tuple[str, bool]], job_statuses: Iterable[str]) -> FarmStatus:
    """§4.4: first matching rule wins. ``workers``: (status, deleted) pairs."""
    live = [_status(status) for status, deleted in workers if not deleted]
    if not live or all(s in WORKER_NOT_OPERATIVE for s in live):
        return FarmStatus.INOPERATIVE
    jobs = {_j(s) for s in job_statuses}
    any_awake = W.AWAKE in live
    if J.ACTIVE in jobs and any_awake:
        return FarmStatus.ACTIVE
    if J.ACTIVE in jobs or J.QUEUED in jobs:
        return FarmStatus.WAITING
    if not any_awake and W.ASLEEP in live:
        return FarmStatus.ASLEEP
    return FarmStatus.IDLE


# ---------------------------------------------------------------------------
# UI action gates. The API accepts any status; only the web UI limits them.

JOB_ACTIONS: dict[str, frozenset[JobStatus]] = {
    "cancel": frozenset({J.ACTIVE, J.FAILED, J.PAUSED, J.PAUSE_REQUESTED, J.QUEUED}),
    "pause": frozenset({J.ACTIVE, J.CANCELED, J.QUEUED}),
    "requeue": frozenset({J.CANCELED, J.COMPLETED, J.FAILED, J.PAUSED}),
    "delete": frozenset({J.CANCELED, J.COMPLETED, J.FAILED, J.PAUSED, J.QUEUED}),
}
JOB_ACTION_STATUS: dict[str, JobStatus | None] = {
    "cancel": J.CANCEL_REQUESTED,
    "pause": J.PAUSE_REQUESTED,
    "requeue": J.REQUEUEING,
    "delete": None,  # DELETE /jobs/{id}, not a status
}
TASK_ACTIONS: dict[str, frozenset[TaskStatus]] = {
    "cancel": frozenset({T.ACTIVE, T.QUEUED, T.SOFT_FAILED}),
    "requeue": frozenset({T.CANCELED, T.COMPLETED, T.FAILED}),
}
TASK_ACTION_STATUS: dict[str, TaskStatus] = {
    "cancel": T.CANCELED,
    "requeue": T.QUEUED,
}
# Worker actions of the web UI -> requested status (lazy or immediate).
WORKER_ACTIONS: dict[str, WorkerStatus] = {
    "shut-down": W.OFFLINE,
    "restart": W.RESTART,  # only offered when the worker can restart
    "sleep": W.ASLEEP,
    "wake-up": W.AWAKE,
}


def job_action_allowed(action: str, job_status: str) -> bool:
    return _j(job_status) in JOB_ACTIONS[action]


def task_action_allowed(action: str, task_status: str, job_status: str) -> bool:
    if action == "cancel" and _j(job_status) == J.PAUSE_REQUESTED:
        return False
    return _t(task_status) in TASK_ACTIONS[action]
