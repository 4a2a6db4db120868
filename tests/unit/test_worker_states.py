"""The Worker's reaction to each status request and to each answer of the Manager."""

from __future__ import annotations

import random

import pytest

from flamenco_pkg.worker.states import (NO_TASK_S, RETRY_S, KeepRunning, Next, Reaction, Run, after_fetch,
                                        after_may_i_run, jitter, react)


@pytest.mark.parametrize("requested, reaction", [
    ("awake", Reaction(ack="awake", run=Run.TASKS)),
    ("asleep", Reaction(ack="asleep", run=Run.SLEEP)),
    ("offline", Reaction(ack=None, run=Run.SHUTDOWN, exit_code=0)),
    ("restart", Reaction(ack=None, run=Run.SHUTDOWN, exit_code=47)),
])
def test_reaction_to_each_status_request(requested, reaction):
    assert react(requested, restart_exit_code=47) == reaction


def test_restart_without_a_restart_exit_code_exits_zero():
    assert react("restart", restart_exit_code=0).exit_code == 0


@pytest.mark.parametrize("odd", ["error", "testing", "starting", ""])
def test_statuses_a_worker_cannot_be_in_mean_asleep_with_a_warning(odd):
    reaction = react(odd, 0)
    assert reaction.run is Run.SLEEP and reaction.ack == "asleep"
    assert reaction.warning


@pytest.mark.parametrize("code, next_, wait", [
    (200, Next.RUN_TASK, 0), (204, Next.WAIT, NO_TASK_S), (423, Next.CHANGE_STATE, 0),
    (403, Next.REGISTER_AGAIN, 0), (409, Next.SIGN_ON_AGAIN, RETRY_S), (503, Next.WAIT, RETRY_S),
    (500, Next.WAIT, RETRY_S), (None, Next.WAIT, RETRY_S),
])
def test_after_fetch(code, next_, wait):
    outcome = after_fetch(code)
    assert (outcome.next, outcome.wait_s) == (next_, wait)


def test_jitter_stays_within_ten_percent_and_varies():
    rng = random.Random(4)
    waits = [jitter(20.0, rng) for _ in range(200)]
    assert all(18.0 <= w <= 22.0 for w in waits)
    assert max(waits) - min(waits) > 2.0


@pytest.mark.parametrize("code, body, expected", [
    (200, {"mayKeepRunning": True, "reason": "", "statusChangeRequested": False}, KeepRunning(True)),
    (200, {"mayKeepRunning": False, "reason": "task is in non-runnable status \"canceled\"",
           "statusChangeRequested": False},
     KeepRunning(False, False, "task is in non-runnable status \"canceled\"")),
    (200, {"mayKeepRunning": False, "reason": "worker status change requested", "statusChangeRequested": True},
     KeepRunning(False, True, "worker status change requested")),
    (500, {"code": 500, "message": "boom"}, KeepRunning(True)),
    (None, None, KeepRunning(True)),
])
def test_only_a_clear_no_stops_a_task(code, body, expected):
    assert after_may_i_run(code, body) == expected
