"""Which events wake held task requests (long-poll), and whom they wake.

Everything that can make a task runnable is already announced as an event
after its commit: a job queued or resumed, a task queued again, a task
completed (its dependents may be free now), a tag change. Those start a
wake-up chain (`Waiters.work_available`). A status change requested for a
Worker wakes that Worker's own held request, so it learns of it at once.
Over-waking is cheap: a chain ends as soon as nothing is runnable for anyone.
"""

from __future__ import annotations

from typing import Any

from .waiters import Waiters

WORK_JOB_STATUSES = frozenset({"queued", "active"})
WORK_TASK_STATUSES = frozenset({"queued", "soft-failed", "completed"})
EVENTS = frozenset({"/jobs", "/task", "/workertags", "/workers"})  # what `subscriber` looks at


def subscriber(waiters: Waiters):
    """An event-broker subscriber that wakes `waiters` (keyed by worker UUID)."""

    def on_event(event: str, _room: str, payload: dict[str, Any]) -> None:
        if event == "/jobs":
            if payload.get("status") in WORK_JOB_STATUSES and not payload.get("delete_requested_at"):
                waiters.work_available()
        elif event == "/task":
            if payload.get("status") in WORK_TASK_STATUSES:
                waiters.work_available()
        elif event == "/workertags":
            waiters.work_available()
        elif event == "/workers":
            if payload.get("status_change") or payload.get("deleted_at"):
                waiters.release(payload["id"])
            else:
                waiters.work_available()  # tags or task types may have changed

    return on_event
