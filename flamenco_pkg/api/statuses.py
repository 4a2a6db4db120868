"""Status enums shared by the Manager and the Worker.

The string values are the wire values of Flamenco 3's API v3 (the ``JobStatus``,
``TaskStatus``, ``WorkerStatus`` and ``FarmStatus`` schemas), so a member can be
written to JSON or SQLite as is (``StrEnum`` members *are* strings).

The frozensets below name the groups of statuses that other modules test
against; the rules that move things between statuses live in
``flamenco_pkg.manager.states``.
"""

from __future__ import annotations

import enum

__all__ = [
    "JobStatus",
    "TaskStatus",
    "WorkerStatus",
    "FarmStatus",
    "RUNNABLE_JOB",
    "SCHEDULABLE_TASK",
    "RUNNABLE_TASK",
    "JOB_STUCK_CHECK",
    "WORKER_TIMEOUT_EXEMPT",
    "WORKER_NOT_OPERATIVE",
    "WORKER_REMEMBERED_AT_SIGN_OFF",
    "WORKER_ACKED_AT_SIGN_OFF",
]


class JobStatus(enum.StrEnum):
    UNDER_CONSTRUCTION = "under-construction"
    QUEUED = "queued"
    ACTIVE = "active"
    PAUSE_REQUESTED = "pause-requested"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCEL_REQUESTED = "cancel-requested"
    CANCELED = "canceled"
    REQUEUEING = "requeueing"


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    SOFT_FAILED = "soft-failed"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    PAUSED = "paused"


class WorkerStatus(enum.StrEnum):
    """A worker's status. A registered worker that never signed on has ``""``,
    which is deliberately not a member (the API never accepts it as input)."""

    STARTING = "starting"
    AWAKE = "awake"
    ASLEEP = "asleep"
    ERROR = "error"
    TESTING = "testing"
    OFFLINE = "offline"
    RESTART = "restart"


class FarmStatus(enum.StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    WAITING = "waiting"
    ASLEEP = "asleep"
    INOPERATIVE = "inoperative"
    UNKNOWN = "unknown"  # in the API enum, never produced
    STARTING = "starting"  # before the first poll


# Jobs whose tasks the scheduler may hand out.
RUNNABLE_JOB: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.ACTIVE})

# Tasks the scheduler may hand out (when their job is in RUNNABLE_JOB).
SCHEDULABLE_TASK: frozenset[TaskStatus] = frozenset({TaskStatus.QUEUED, TaskStatus.SOFT_FAILED})

# Tasks that are running or may still run: when none is left after a task is
# canceled, the job is canceled. Also the set a job cancel/fail cancels.
RUNNABLE_TASK: frozenset[TaskStatus] = frozenset(
    {TaskStatus.ACTIVE, TaskStatus.QUEUED, TaskStatus.SOFT_FAILED}
)

# Job statuses whose cascade is re-run at Manager startup.
JOB_STUCK_CHECK: frozenset[JobStatus] = frozenset(
    {JobStatus.CANCEL_REQUESTED, JobStatus.REQUEUEING, JobStatus.PAUSE_REQUESTED}
)

# Workers in these statuses never time out.
WORKER_TIMEOUT_EXEMPT: frozenset[WorkerStatus] = frozenset({WorkerStatus.ERROR, WorkerStatus.OFFLINE})

# When every (non-deleted) worker is in one of these, the farm is inoperative.
WORKER_NOT_OPERATIVE: frozenset[WorkerStatus] = frozenset({WorkerStatus.OFFLINE, WorkerStatus.ERROR})

# On sign-off, a worker in one of these is sent back to it at the next sign-on.
WORKER_REMEMBERED_AT_SIGN_OFF: frozenset[WorkerStatus] = frozenset({WorkerStatus.AWAKE, WorkerStatus.ASLEEP})

# A pending request for one of these is fulfilled (and cleared) by signing off.
WORKER_ACKED_AT_SIGN_OFF: frozenset[WorkerStatus] = frozenset({WorkerStatus.OFFLINE, WorkerStatus.RESTART})
