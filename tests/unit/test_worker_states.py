"""The Worker's reaction to each status request and to each answer of the Manager."""

from __future__ import annotations

import random

import pytest

from flamenco_pkg.worker.states import (HELD_MIN_S, NO_TASK_S, RETRY_S, WAIT_READ_MARGIN_S, FetchOutcome,
                                        KeepRunning, Next, Reaction, Run, after_fetch, after_may_i_run, backs_off_after_task,
                                        jitter, react, task_request_timeout)


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


@pytest.mark.parametrize("held_s, wait", [
    (0.0, NO_TASK_S), (0.05, NO_TASK_S), (HELD_MIN_S - 0.01, NO_TASK_S),  # not held: upstream Manager
    (HELD_MIN_S, 0.0), (25.0, 0.0),                                       # held: ask again at once
])
def test_a_204_backs_off_only_when_it_was_not_held(held_s, wait):
    assert after_fetch(204, held_s) == FetchOutcome(Next.WAIT, wait)


def test_holding_does_not_change_the_other_answers():
    for code in (200, 423, 403, 409, 503, None):
        assert after_fetch(code, 30.0) == after_fetch(code)


@pytest.mark.parametrize("outcome, delivered, backs_off", [
    ("completed", True, False), ("canceled", True, False),
    ("failed", True, True), ("abandoned", True, True),
    ("completed", False, True),  # the result waits in the offline buffer: the Manager would hand it out again
])
def test_back_off_after_a_task(outcome, delivered, backs_off):
    assert backs_off_after_task(outcome, delivered) is backs_off


def test_a_held_request_reads_longer_than_the_wait():
    assert task_request_timeout(25, (10.0, 120.0)) == (10.0, 120.0)
    connect, read = task_request_timeout(300, (10.0, 120.0))
    assert connect == 10.0 and read == 300 + WAIT_READ_MARGIN_S


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
