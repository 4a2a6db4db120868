"""The Worker's reactions to its Manager, as pure decisions.

The loops in `loop.py` ask these functions what to do and then do it, so the
rules (which status is acknowledged, what exits with which code, how long to
wait after each answer) can be tested without a Manager.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

# Upstream's waits, in seconds. Upstream pauses before every "give me a task"; this Worker
# pauses on waking up and to back off: after an error, a failed task, or a 204 that came at once.
FETCH_DELAY_S = 3.0        # on waking up, and added to every back-off, before "give me a task"
AFTER_TASK_S = 2.0         # after a failed or abandoned task, before the fetch delay
NO_TASK_S = 20.0           # 204: nothing to do
RETRY_S = 60.0             # errors, refused credentials, unreachable Manager
ASLEEP_POLL_S = 3.0        # asleep: how often to ask for a new state
SIGN_ON_RETRY_S = 5.0      # sign-on while the Manager is unreachable
MAY_I_RUN_S = 10.0         # may-I-keep-running check during a task

# Ours: long-poll. "give me a task" carries `X-Flamenco-Wait: <seconds>`; a Manager that
# supports it may hold the request that long for a task to become runnable, then answer 204.
TASK_WAIT_S = 25           # what the Worker asks for; 0 sends no header (upstream's request)
WAIT_READ_MARGIN_S = 15.0  # the read timeout of that request exceeds the wait by at least this
HELD_MIN_S = 1.0           # a 204 quicker than this was not held (upstream Manager): back off as upstream


class Run(Enum):
    TASKS = "tasks"        # awake: fetch and run tasks
    SLEEP = "sleep"        # asleep: poll for a state change
    SHUTDOWN = "shutdown"  # sign off and exit


@dataclass(frozen=True)
class Reaction:
    ack: str | None        # status to acknowledge with state-changed, if any
    run: Run
    exit_code: int = 0
    warning: str = ""


def react(status_requested: str, restart_exit_code: int) -> Reaction:
    """What the Worker does when the Manager asks for `status_requested`."""
    if status_requested == "awake":
        return Reaction(ack="awake", run=Run.TASKS)
    if status_requested == "asleep":
        return Reaction(ack="asleep", run=Run.SLEEP)
    if status_requested == "offline":
        return Reaction(ack=None, run=Run.SHUTDOWN, exit_code=0)
    if status_requested == "restart":
        return Reaction(ack=None, run=Run.SHUTDOWN, exit_code=restart_exit_code)
    return Reaction(ack="asleep", run=Run.SLEEP,
                    warning=f'the Manager asked for status "{status_requested}", which a Worker cannot '
                            'be in; going to sleep instead')


class Next(Enum):
    RUN_TASK = "run-task"
    WAIT = "wait"
    CHANGE_STATE = "change-state"     # 423: the reply names the new status
    SIGN_ON_AGAIN = "sign-on-again"   # 409: the Manager no longer sees us awake
    REGISTER_AGAIN = "register-again"  # 403: our credentials are refused


@dataclass(frozen=True)
class FetchOutcome:
    next: Next
    wait_s: float = 0.0


def after_fetch(status_code: int | None, held_s: float = 0.0) -> FetchOutcome:
    """Decision after `POST task`; `None` means the Manager could not be reached.

    `held_s` is how long a request that asked for a wait took to answer. A 204 after a
    real hold means "nothing yet" from a long-polling Manager: ask again at once. A quick
    204 comes from a Manager that does not hold requests: wait as upstream does, so the
    Worker never spins against it. `wait_s` 0 means no back-off at all.
    """
    if status_code == 200:
        return FetchOutcome(Next.RUN_TASK)
    if status_code == 204:
        return FetchOutcome(Next.WAIT, 0.0 if held_s >= HELD_MIN_S else NO_TASK_S)
    if status_code == 423:
        return FetchOutcome(Next.CHANGE_STATE)
    if status_code == 403:
        return FetchOutcome(Next.REGISTER_AGAIN)
    if status_code == 409:
        return FetchOutcome(Next.SIGN_ON_AGAIN, RETRY_S)
    return FetchOutcome(Next.WAIT, RETRY_S)


def backs_off_after_task(outcome: str, final_update_delivered: bool) -> bool:
    """Only a finished task whose result reached the Manager goes straight on to the next.

    `outcome` is the executor's `Outcome` value. Completed, or canceled by the Manager:
    ask at once. Failed or abandoned: back off as upstream does, so a broken Worker does not
    burn through a job. A result still in the offline buffer: back off too, or the Manager,
    not having seen it, would hand the same task out again.
    """
    return outcome not in ("completed", "canceled") or not final_update_delivered


def task_request_timeout(wait_s: float, usual: tuple[float, float]) -> tuple[float, float]:
    """(connect, read) for a "give me a task" that may be held `wait_s` seconds."""
    connect, read = usual
    return connect, max(read, wait_s + WAIT_READ_MARGIN_S)


def jitter(wait_s: float, rng: random.Random | None = None) -> float:
    """±10 %: many Workers started together should not all knock at the same moment."""
    r = rng or random
    return wait_s + r.uniform(-wait_s / 10, wait_s / 10)


@dataclass(frozen=True)
class KeepRunning:
    keep: bool
    state_change: bool = False
    reason: str = ""


def after_may_i_run(status_code: int | None, body: object) -> KeepRunning:
    """Only an explicit "no" stops a task; errors and an unreachable Manager mean go on."""
    if status_code != 200 or not isinstance(body, dict):
        return KeepRunning(True)
    if body.get("mayKeepRunning") is False:
        return KeepRunning(False, bool(body.get("statusChangeRequested")), str(body.get("reason", "")))
    return KeepRunning(True)
