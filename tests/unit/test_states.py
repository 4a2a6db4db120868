"""Tests for the pure status machines in flamenco_pkg.manager.states."""

from __future__ import annotations

import pytest

from flamenco_pkg.api.statuses import (
    RUNNABLE_JOB,
    SCHEDULABLE_TASK,
    FarmStatus,
    JobStatus,
    TaskStatus,
    WorkerStatus,
)
from flamenco_pkg.manager.state_machine import rules as states
from flamenco_pkg.manager.state_machine.rules import FailureVerdict, JobDecision, TransitionRefused, WorkerChange, WorkerRequest

J = JobStatus
T = TaskStatus
W = WorkerStatus


def tasks(*statuses: str) -> dict[int, str]:
    """{1: statuses[0], 2: statuses[1], ...}"""
    return {i: s for i, s in enumerate(statuses, start=1)}


def chain(steps) -> list[str]:
    return [str(s.new_status) for s in steps]


# ---------------------------------------------------------------------------
# Enums


def test_enum_values_are_the_wire_strings():
    assert [s.value for s in J] == [
        "under-construction", "queued", "active", "pause-requested", "paused",
        "completed", "failed", "cancel-requested", "canceled", "requeueing",
    ]
    assert {s.value for s in T} == {
        "queued", "active", "soft-failed", "completed", "failed", "canceled", "paused",
    }
    assert {s.value for s in W} == {
        "starting", "awake", "asleep", "error", "testing", "offline", "restart",
    }
    assert J.PAUSE_REQUESTED == "pause-requested"  # StrEnum compares as str
    assert {s.value for s in FarmStatus} == {
        "active", "idle", "waiting", "asleep", "inoperative", "unknown", "starting",
    }


def test_schedulable_sets():
    assert SCHEDULABLE_TASK == {T.QUEUED, T.SOFT_FAILED}
    assert RUNNABLE_JOB == {J.QUEUED, J.ACTIVE}
    assert states.is_schedulable("soft-failed", "active")
    assert states.is_schedulable("queued", "queued")
    assert not states.is_schedulable("queued", "paused")
    assert not states.is_schedulable("paused", "active")
    assert not states.is_schedulable("active", "active")


# ---------------------------------------------------------------------------
# §2.1 job enters a status -> task cascade

MIXED = tasks("active", "queued", "soft-failed", "paused", "completed", "failed", "canceled")


@pytest.mark.parametrize("new", ["active", "completed", "canceled", "paused"])
def test_job_enters_status_without_task_cascade(new):
    steps = states.job_status_entered("queued", new, MIXED, "because")
    assert chain(steps) == [new]
    step = steps[0]
    assert step.old_status == J.QUEUED
    assert step.task_changes == {}
    assert step.task_activity == ""
    assert not step.recompute_steps
    assert step.activity == f'Changed to status "{new}": because'


def test_cancel_requested_cancels_runnable_tasks_and_follows_up_with_canceled():
    steps = states.job_status_entered("active", "cancel-requested", MIXED, "operator")
    assert chain(steps) == ["cancel-requested", "canceled"]
    first, second = steps
    # active/queued/soft-failed -> canceled; paused, completed, failed untouched.
    assert first.task_changes == {1: T.CANCELED, 2: T.CANCELED, 3: T.CANCELED}
    assert first.task_activity
    assert first.refresh_tasks
    assert second.old_status == J.CANCEL_REQUESTED
    assert second.task_changes == {}
    # The follow-up carries the original reason.
    assert second.activity == 'Changed to status "canceled": operator'


def test_failed_cancels_runnable_tasks_and_stays_failed():
    steps = states.job_status_entered("active", "failed", MIXED, "too many")
    assert chain(steps) == ["failed"]
    assert steps[0].task_changes == {1: T.CANCELED, 2: T.CANCELED, 3: T.CANCELED}
    assert 4 not in steps[0].task_changes  # paused tasks are not canceled


def test_pause_requested_with_active_task_pauses_the_rest_and_stays():
    steps = states.job_status_entered("active", "pause-requested", tasks("active", "queued", "soft-failed", "completed"))
    assert chain(steps) == ["pause-requested"]
    assert steps[0].task_changes == {2: T.PAUSED, 3: T.PAUSED}  # active keeps running


def test_pause_requested_without_active_task_follows_up_with_paused():
    steps = states.job_status_entered("queued", "pause-requested", tasks("queued", "completed", "failed"))
    assert chain(steps) == ["pause-requested", "paused"]
    assert steps[0].task_changes == {1: T.PAUSED}
    assert steps[1].task_changes == {}


def test_requeueing_from_under_construction_is_stuck():
    steps = states.job_status_entered("under-construction", "requeueing", tasks("queued", "queued"))
    assert chain(steps) == ["requeueing"]
    assert steps[0].task_changes == {}
    assert not steps[0].recompute_steps


def test_requeueing_from_completed_requeues_all_tasks():
    steps = states.job_status_entered("completed", "requeueing", tasks("completed", "completed", "completed"))
    assert chain(steps) == ["requeueing", "queued"]
    assert steps[0].task_changes == {1: T.QUEUED, 2: T.QUEUED, 3: T.QUEUED}
    assert steps[0].recompute_steps
    # Everything was requeued, so 'queued' does not jump on to 'completed'.
    assert steps[1].new_status == J.QUEUED and steps[1].task_changes == {}


@pytest.mark.parametrize("old", ["active", "failed", "canceled", "paused", "queued", "pause-requested"])
def test_requeueing_from_other_statuses_requeues_unfinished_tasks_only(old):
    steps = states.job_status_entered(old, "requeueing", MIXED)
    assert chain(steps) == ["requeueing", "queued"]
    # soft-failed, paused, failed, canceled -> queued; active and completed untouched.
    assert steps[0].task_changes == {3: T.QUEUED, 4: T.QUEUED, 6: T.QUEUED, 7: T.QUEUED}
    assert steps[0].recompute_steps
    assert steps[0].old_status == J(old)


def test_queued_follows_up_with_completed_when_all_tasks_completed():
    steps = states.job_status_entered("paused", "queued", tasks("completed", "completed"))
    assert chain(steps) == ["queued", "completed"]


def test_queued_stays_when_some_task_is_not_completed():
    steps = states.job_status_entered("paused", "queued", tasks("completed", "paused"))
    assert chain(steps) == ["queued"]


def test_requeueing_chain_can_end_in_completed():
    # requeueing -> queued -> completed when nothing needed requeueing.
    steps = states.job_status_entered("failed", "requeueing", tasks("completed", "completed"))
    assert chain(steps) == ["requeueing", "queued", "completed"]
    assert steps[0].task_changes == {}


def test_follow_ups_see_the_tasks_changed_by_earlier_steps():
    # After requeueing from failed, the failed task is queued, so no completion.
    steps = states.job_status_entered("failed", "requeueing", tasks("completed", "failed"))
    assert chain(steps) == ["requeueing", "queued"]


def test_entering_the_current_status_does_nothing():
    assert states.job_status_entered("queued", "queued", tasks("completed")) == []
    assert states.job_status_entered("cancel-requested", "cancel-requested", tasks("active")) == []


def test_activity_without_reason():
    steps = states.job_status_entered("queued", "active", tasks("active"))
    assert steps[0].activity == 'Changed to status "active"'


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError):
        states.job_status_entered("queued", "frobnicated", {})
    with pytest.raises(ValueError):
        states.job_status_entered("queued", "active", {1: "bogus"})


# §2.5 startup stuck-job check


def test_reenforce_cancel_requested():
    steps = states.job_status_reenforced("cancel-requested", tasks("active", "completed"))
    assert chain(steps) == ["cancel-requested", "canceled"]
    assert steps[0].old_status == steps[0].new_status == J.CANCEL_REQUESTED
    assert steps[0].task_changes == {1: T.CANCELED}
    assert steps[0].activity.startswith('Re-applied status "cancel-requested"')
    assert steps[1].activity.startswith('Changed to status "canceled"')


def test_reenforce_requeueing_requeues_unfinished_tasks():
    steps = states.job_status_reenforced("requeueing", tasks("completed", "failed", "paused"))
    assert chain(steps) == ["requeueing", "queued"]
    assert steps[0].task_changes == {2: T.QUEUED, 3: T.QUEUED}


def test_reenforce_pause_requested():
    assert chain(states.job_status_reenforced("pause-requested", tasks("active", "queued"))) == ["pause-requested"]
    assert chain(states.job_status_reenforced("pause-requested", tasks("paused", "queued"))) == [
        "pause-requested",
        "paused",
    ]


# ---------------------------------------------------------------------------
# §2.2 task status change -> job


def decide(job, task, statuses):
    return states.job_status_after_task_change(job, task, statuses)


def test_task_queued_on_completed_job_requeues_everything():
    assert decide("completed", "queued", tasks("queued", "completed")).status == J.REQUEUEING
    steps = states.task_status_changed("completed", "queued", tasks("queued", "completed", "completed"))
    assert chain(steps) == ["requeueing", "queued"]
    assert steps[0].task_changes == {1: T.QUEUED, 2: T.QUEUED, 3: T.QUEUED}


@pytest.mark.parametrize("job", ["active", "queued", "paused", "failed", "canceled"])
def test_task_queued_on_other_jobs_does_nothing(job):
    assert decide(job, "queued", tasks("queued", "completed")) is None


def test_task_paused_completes_pausing():
    d = decide("pause-requested", "paused", tasks("paused", "completed"))
    assert isinstance(d, JobDecision) and d.status == J.PAUSED


def test_task_paused_with_active_task_left_does_not_pause_job():
    assert decide("pause-requested", "paused", tasks("paused", "active")) is None


def test_task_paused_on_active_job_does_nothing():
    assert decide("active", "paused", tasks("paused", "queued")) is None


def test_task_canceled_last_runnable_cancels_job():
    # paused/failed/completed tasks do not keep the job alive.
    d = decide("active", "canceled", tasks("canceled", "paused", "failed", "completed"))
    assert d.status == J.CANCELED


@pytest.mark.parametrize("runnable", ["active", "queued", "soft-failed"])
def test_task_canceled_with_runnable_task_left_keeps_active_job(runnable):
    assert decide("active", "canceled", tasks("canceled", runnable)) is None


def test_task_canceled_completes_pausing():
    d = decide("pause-requested", "canceled", tasks("canceled", "soft-failed", "paused"))
    assert d.status == J.PAUSED


def test_task_canceled_while_pausing_with_active_left():
    assert decide("pause-requested", "canceled", tasks("canceled", "active")) is None


@pytest.mark.parametrize(
    ("num_tasks", "job_fails"),
    [(9, True), (10, True), (11, False)],
)
def test_task_failed_threshold(num_tasks, job_fails):
    statuses = tasks("failed", *["queued"] * (num_tasks - 1))
    d = decide("active", "failed", statuses)
    if job_fails:
        assert d.status == J.FAILED
    else:
        assert d is None


def test_soft_failed_tasks_do_not_count_as_failed():
    # 1 failed of 11 = 9%; counting the soft-failed one too would be 18%.
    statuses = tasks("failed", "soft-failed", *["queued"] * 9)
    assert decide("active", "failed", statuses) is None


def test_task_failed_fails_job_and_cancels_the_rest():
    steps = states.task_status_changed("active", "failed", tasks("failed", "active", "queued", "completed"))
    assert chain(steps) == ["failed"]
    assert steps[0].task_changes == {2: T.CANCELED, 3: T.CANCELED}


def test_task_failed_below_threshold_completes_pausing():
    statuses = tasks("failed", *["paused"] * 10)
    assert decide("pause-requested", "failed", statuses).status == J.PAUSED
    statuses[2] = "active"
    assert decide("pause-requested", "failed", statuses) is None


def test_task_failed_below_threshold_activates_queued_job():
    statuses = tasks("failed", *["queued"] * 10)
    assert decide("queued", "failed", statuses).status == J.ACTIVE
    assert decide("active", "failed", statuses) is None


def test_task_failed_on_failed_job_is_no_change():
    assert decide("failed", "failed", tasks("failed", "canceled")) is None


def test_task_completed_last_completes_job():
    assert decide("active", "completed", tasks("completed", "completed")).status == J.COMPLETED


def test_task_completed_completes_pausing():
    assert decide("pause-requested", "completed", tasks("completed", "paused")).status == J.PAUSED
    assert decide("pause-requested", "completed", tasks("completed", "active")) is None


def test_task_completed_activates_queued_job():
    assert decide("queued", "completed", tasks("completed", "queued")).status == J.ACTIVE
    assert decide("active", "completed", tasks("completed", "queued")) is None


@pytest.mark.parametrize("task", ["active", "soft-failed"])
@pytest.mark.parametrize("job", ["queued", "paused", "failed", "canceled", "completed", "requeueing"])
def test_task_active_or_soft_failed_activates_job(task, job):
    d = decide(job, task, tasks(task, "queued"))
    assert d.status == J.ACTIVE
    assert task in d.reason


@pytest.mark.parametrize("task", ["active", "soft-failed"])
@pytest.mark.parametrize("job", ["active", "cancel-requested"])
def test_task_active_or_soft_failed_leaves_active_and_cancel_requested(task, job):
    assert decide(job, task, tasks(task, "queued")) is None


def test_task_active_on_pause_requested_job_activates_it():
    assert decide("pause-requested", "active", tasks("active", "paused")).status == J.ACTIVE


def test_soft_failed_during_pause_requested_keeps_pausing():
    # Deliberate deviation from upstream (which re-activates the job).
    assert decide("pause-requested", "soft-failed", tasks("soft-failed", "active")) is None
    d = decide("pause-requested", "soft-failed", tasks("soft-failed", "paused"))
    assert d.status == J.PAUSED


def _count_samples() -> list[dict[str, int]]:
    """Task counts covering every branch: empty, one status only, mixes around the 10 % failure line."""
    samples: list[dict[str, int]] = [{}]
    samples += [{s.value: n} for s in T for n in (1, 5)]
    samples += [{T.COMPLETED: 9, T.FAILED: 1}, {T.COMPLETED: 95, T.FAILED: 5}, {T.ACTIVE: 1, T.QUEUED: 3},
                {T.PAUSED: 2, T.CANCELED: 1}, {T.SOFT_FAILED: 1, T.COMPLETED: 1}, {T.ACTIVE: 1, T.COMPLETED: 4}]
    return samples


@pytest.mark.parametrize("job", list(J))
@pytest.mark.parametrize("task", list(T))
def test_needs_counts_is_false_only_where_the_counts_cannot_matter(job, task):
    decisions = {states.job_status_after_task_change_counts(job, task, counts) for counts in _count_samples()}
    if not states.job_decision_needs_counts(job, task):
        assert len(decisions) == 1


def test_handing_out_a_task_of_a_running_job_needs_no_counts():
    """The commonest change: the scheduler skips the job's counts read for it."""
    assert not states.job_decision_needs_counts("active", "active")
    assert not states.job_decision_needs_counts("queued", "active")
    assert states.job_decision_needs_counts("active", "completed")


def test_task_status_changed_returns_no_steps_without_decision():
    assert states.task_status_changed("active", "completed", tasks("completed", "queued")) == []


# failed percentage


@pytest.mark.parametrize(
    ("failed", "total", "pct"),
    [(1, 9, 11), (1, 10, 10), (1, 11, 9), (0, 5, 0), (3, 3, 100), (1, 3, 33), (0, 0, 0)],
)
def test_percent_failed(failed, total, pct):
    assert states.percent_failed(failed, total) == pct


def test_too_many_failed():
    assert states.too_many_failed(["failed"] + ["queued"] * 9)
    assert not states.too_many_failed(["failed"] + ["queued"] * 10)
    assert not states.too_many_failed({1: "soft-failed", 2: "queued"})


# return to pool


@pytest.mark.parametrize(
    ("job", "expected"),
    [("pause-requested", T.PAUSED), ("paused", T.PAUSED), ("active", T.QUEUED), ("queued", T.QUEUED)],
)
def test_returned_task_status(job, expected):
    assert states.returned_task_status(job) == expected


def test_returning_the_last_active_task_of_a_pausing_job_pauses_it():
    target = states.returned_task_status("pause-requested")
    steps = states.task_status_changed("pause-requested", target, tasks(target, "paused"))
    assert chain(steps) == ["paused"]


def test_operator_clears_failures():
    assert states.operator_job_status_clears_failures("requeueing")
    assert not states.operator_job_status_clears_failures("queued")
    assert states.operator_task_status_clears_failures("queued")
    assert not states.operator_task_status_clears_failures("canceled")


# ---------------------------------------------------------------------------
# Late worker updates


@pytest.mark.parametrize("status", list(T))
def test_accept_worker_task_status(status):
    assert states.accept_worker_task_status(status, True) is (status == T.ACTIVE)
    assert states.accept_worker_task_status(status, False) is False


@pytest.mark.parametrize("status", ["canceled", "queued", "paused", "failed", "completed", "soft-failed"])
def test_late_update_for_inactive_task_is_conflict(status):
    with pytest.raises(TransitionRefused) as exc:
        states.check_worker_task_update(task_status=status, assigned_to_caller=True, reported_status="failed")
    assert exc.value.http_status == 409


def test_update_for_task_of_other_worker_is_conflict():
    with pytest.raises(TransitionRefused) as exc:
        states.check_worker_task_update(task_status="active", assigned_to_caller=False, reported_status="soft-failed")
    assert exc.value.http_status == 409


def test_worker_may_not_send_soft_failed():
    with pytest.raises(TransitionRefused) as exc:
        states.check_worker_task_update(task_status="active", assigned_to_caller=True, reported_status="soft-failed")
    assert exc.value.http_status == 400


@pytest.mark.parametrize("reported", [None, "active", "completed", "failed"])
def test_update_for_own_active_task_is_accepted(reported):
    assert states.check_worker_task_update(task_status="active", assigned_to_caller=True, reported_status=reported) is None


# ---------------------------------------------------------------------------
# §2.4 failure verdict


def verdict(**kw) -> FailureVerdict:
    args = dict(
        workers_failed_this_task=1,
        this_worker_failures_of_type_in_job=1,
        blocklist_threshold=3,
        softfail_limit=3,
        other_eligible_workers=5,
        task_type="blender",
        worker_name="",
    )
    args.update(kw)
    return states.failure_verdict(**args)


def test_first_failure_soft_fails():
    v = verdict()
    assert v.task_status == T.SOFT_FAILED
    assert not v.block_worker and not v.fail_job and not v.requeue_workers_failed_tasks
    assert v.job_reason is None and v.block_reason is None
    assert v.log_line == "Task failed by 1 worker, 2 more failures until it is failed for good"


def test_second_failure_log_line():
    v = verdict(workers_failed_this_task=2)
    assert v.task_status == T.SOFT_FAILED
    assert v.log_line == "Task failed by 2 workers, 1 more failure until it is failed for good"


def test_softfail_limit_hard_fails_task_but_not_job():
    v = verdict(workers_failed_this_task=3)
    assert v.task_status == T.FAILED
    assert not v.fail_job and v.job_reason is None
    assert "3 workers" in v.log_line


def test_hard_fail_by_limit_wins_over_no_workers_left():
    v = verdict(workers_failed_this_task=3, other_eligible_workers=0)
    assert v.task_status == T.FAILED and not v.fail_job


def test_no_other_worker_fails_task_and_job():
    v = verdict(other_eligible_workers=0)
    assert v.task_status == T.FAILED
    assert v.fail_job
    assert v.job_reason == 'no more workers left to run tasks of type "blender"'
    assert not v.block_worker and not v.requeue_workers_failed_tasks


def test_one_other_worker_is_enough_to_soft_fail():
    # Upstream's "<= 1" would fail the job here (two eligible workers in total).
    v = verdict(other_eligible_workers=1)
    assert v.task_status == T.SOFT_FAILED and not v.fail_job


def test_blocklist_at_the_threshold_th_failed_task_not_before():
    assert not verdict(this_worker_failures_of_type_in_job=2).block_worker  # upstream would block here
    v = verdict(this_worker_failures_of_type_in_job=3, worker_name="w1")
    assert v.block_worker
    assert v.requeue_workers_failed_tasks
    assert v.task_status == T.SOFT_FAILED and not v.fail_job
    assert v.block_reason == 'worker w1 was blocklisted for tasks of type "blender" of this job after 3 failed tasks'


def test_blocklist_and_no_workers_left_fails_job_without_requeue():
    v = verdict(this_worker_failures_of_type_in_job=3, other_eligible_workers=0)
    assert v.block_worker
    assert not v.requeue_workers_failed_tasks
    assert v.task_status == T.FAILED and v.fail_job
    assert v.job_reason == 'no more workers left to run tasks of type "blender"'
    assert "blocklisted" in v.log_line


def test_blocklist_with_hard_fail_still_requeues_other_failed_tasks():
    v = verdict(this_worker_failures_of_type_in_job=4, workers_failed_this_task=3)
    assert v.block_worker and v.requeue_workers_failed_tasks
    assert v.task_status == T.FAILED and not v.fail_job


@pytest.mark.parametrize(
    "bad",
    [
        {"workers_failed_this_task": 0},
        {"this_worker_failures_of_type_in_job": 0},
        {"other_eligible_workers": -1},
    ],
)
def test_failure_verdict_rejects_bad_counts(bad):
    with pytest.raises(ValueError):
        verdict(**bad)


# ---------------------------------------------------------------------------
# §3.4 worker status machine


def test_register():
    assert states.worker_registered() == WorkerChange(status="offline", request=None, return_tasks=False)


def test_sign_on_keeps_request_and_starts():
    req = WorkerRequest(W.ASLEEP, lazy=True)
    change = states.worker_signed_on(req)
    assert change == WorkerChange(status=W.STARTING, request=req, return_tasks=False)


@pytest.mark.parametrize(
    ("request_", "verdict_", "expected"),
    [
        (WorkerRequest(W.OFFLINE, False), "asleep", W.OFFLINE),
        (None, "asleep", W.ASLEEP),
        (None, None, W.AWAKE),
    ],
)
def test_sign_on_target_status(request_, verdict_, expected):
    assert states.sign_on_target_status(request_, verdict_) == expected


def test_reported_status_clears_request_when_none_pending():
    c = states.worker_reported_status("starting", None, "awake")
    assert c == WorkerChange(status=W.AWAKE, request=None, return_tasks=False)


def test_reported_status_acknowledges_request():
    c = states.worker_reported_status("awake", WorkerRequest(W.ASLEEP, True), "asleep")
    assert c.status == W.ASLEEP and c.request is None
    assert c.return_tasks  # awake -> not awake


def test_reported_status_keeps_other_request():
    req = WorkerRequest(W.OFFLINE, False)
    c = states.worker_reported_status("starting", req, "awake")
    assert c.status == W.AWAKE and c.request == req and not c.return_tasks


@pytest.mark.parametrize(
    ("old", "new", "returns"),
    [
        ("awake", "asleep", True),
        ("awake", "error", True),
        ("awake", "offline", True),
        ("awake", "awake", False),
        ("asleep", "awake", False),
        ("starting", "asleep", False),
        ("", "awake", False),
    ],
)
def test_reported_status_returns_tasks_when_leaving_awake(old, new, returns):
    assert states.worker_reported_status(old, None, new).return_tasks is returns


def test_reported_status_rejects_unknown():
    with pytest.raises(ValueError):
        states.worker_reported_status("awake", None, "dancing")


@pytest.mark.parametrize("old", ["awake", "asleep"])
def test_sign_off_remembers_awake_or_asleep(old):
    c = states.worker_signed_off(old, None)
    assert c == WorkerChange(status=W.OFFLINE, request=WorkerRequest(W(old), lazy=False), return_tasks=True)


@pytest.mark.parametrize("pending", ["offline", "restart"])
def test_sign_off_acknowledges_offline_or_restart_then_remembers(pending):
    c = states.worker_signed_off("awake", WorkerRequest(W(pending), lazy=True))
    assert c.request == WorkerRequest(W.AWAKE, lazy=False)
    c = states.worker_signed_off("error", WorkerRequest(W(pending), lazy=True))
    assert c.request is None


def test_sign_off_keeps_other_pending_request():
    req = WorkerRequest(W.ASLEEP, lazy=True)
    c = states.worker_signed_off("awake", req)
    assert c.request == req and c.status == W.OFFLINE and c.return_tasks


@pytest.mark.parametrize("old", ["error", "starting", "testing", ""])
def test_sign_off_does_not_remember_other_statuses(old):
    assert states.worker_signed_off(old, None).request is None


def test_operator_request_sets_request():
    c = states.operator_requests_worker_status("awake", None, "asleep", lazy=True, can_restart=False)
    assert c == WorkerChange(status=W.AWAKE, request=WorkerRequest(W.ASLEEP, True), return_tasks=False)
    c = states.operator_requests_worker_status("awake", WorkerRequest(W.ASLEEP, True), "offline", lazy=False, can_restart=False)
    assert c.request == WorkerRequest(W.OFFLINE, False)


def test_operator_request_for_current_status_clears():
    c = states.operator_requests_worker_status("asleep", WorkerRequest(W.OFFLINE, True), "asleep", lazy=False, can_restart=False)
    assert c.request is None and c.status == W.ASLEEP


def test_operator_restart_needs_can_restart():
    with pytest.raises(TransitionRefused) as exc:
        states.operator_requests_worker_status("awake", None, "restart", lazy=True, can_restart=False)
    assert exc.value.http_status == 412
    c = states.operator_requests_worker_status("awake", None, "restart", lazy=True, can_restart=True)
    assert c.request == WorkerRequest(W.RESTART, True)


def test_sleep_scheduler_sets_non_lazy_request():
    c = states.sleep_scheduler_request("awake", None, "asleep", deleted=False)
    assert c == WorkerChange(status=W.AWAKE, request=WorkerRequest(W.ASLEEP, False))


def test_sleep_scheduler_overrides_other_and_lazy_requests():
    c = states.sleep_scheduler_request("awake", WorkerRequest(W.OFFLINE, True), "asleep", deleted=False)
    assert c.request == WorkerRequest(W.ASLEEP, False)
    c = states.sleep_scheduler_request("awake", WorkerRequest(W.ASLEEP, True), "asleep", deleted=False)
    assert c.request == WorkerRequest(W.ASLEEP, False)


@pytest.mark.parametrize(
    ("status", "request_", "deleted"),
    [
        ("error", None, False),  # error workers are skipped
        ("awake", None, True),  # deleted workers are skipped
        ("awake", WorkerRequest(W.ASLEEP, False), False),  # already requested
        ("asleep", None, False),  # already there
    ],
)
def test_sleep_scheduler_leaves_alone(status, request_, deleted):
    assert states.sleep_scheduler_request(status, request_, "asleep", deleted=deleted) is None


def test_sleep_scheduler_sends_asleep_worker_with_other_request():
    c = states.sleep_scheduler_request("asleep", WorkerRequest(W.AWAKE, False), "asleep", deleted=False)
    assert c.request == WorkerRequest(W.ASLEEP, False)


@pytest.mark.parametrize(
    ("status", "deleted", "can"),
    [("awake", False, True), ("asleep", False, True), ("starting", False, True), ("", False, True),
     ("error", False, False), ("offline", False, False), ("awake", True, False)],
)
def test_worker_can_time_out(status, deleted, can):
    assert states.worker_can_time_out(status, deleted=deleted) is can


def test_worker_timeout():
    assert states.worker_timed_out() == WorkerChange(status=W.ERROR, request=None, return_tasks=True)


def test_worker_delete_returns_tasks():
    req = WorkerRequest(W.OFFLINE, True)
    assert states.worker_deleted("awake", req) == WorkerChange(status=W.AWAKE, request=req, return_tasks=True)


# ---------------------------------------------------------------------------
# §4.4 farm status


def ws(*statuses, deleted=()):
    return [(s, False) for s in statuses] + [(s, True) for s in deleted]


@pytest.mark.parametrize(
    ("workers", "jobs", "expected"),
    [
        # 1. inoperative
        (ws(), ["active"], FarmStatus.INOPERATIVE),
        (ws("offline", "error"), ["active"], FarmStatus.INOPERATIVE),
        (ws("offline", deleted=("awake",)), ["active"], FarmStatus.INOPERATIVE),
        # 2. active
        (ws("awake", "offline"), ["active", "queued"], FarmStatus.ACTIVE),
        # 3. waiting: work exists but rule 2 did not match
        (ws("asleep"), ["active"], FarmStatus.WAITING),
        (ws("awake"), ["queued"], FarmStatus.WAITING),
        (ws("starting"), ["queued", "completed"], FarmStatus.WAITING),
        # 4. asleep
        (ws("asleep", "offline"), ["completed", "paused"], FarmStatus.ASLEEP),
        # 5. idle
        (ws("awake", "asleep"), ["completed"], FarmStatus.IDLE),
        (ws("starting"), [], FarmStatus.IDLE),
        (ws("testing", "error"), ["failed"], FarmStatus.IDLE),
    ],
)
def test_farm_status(workers, jobs, expected):
    assert states.farm_status(workers, jobs) == expected


def test_farm_status_deleted_worker_does_not_make_farm_active():
    assert states.farm_status(ws("asleep", deleted=("awake",)), ["active"]) == FarmStatus.WAITING


# ---------------------------------------------------------------------------
# UI action gates


def test_job_actions():
    assert states.job_action_allowed("cancel", "pause-requested")
    assert not states.job_action_allowed("cancel", "completed")
    assert states.job_action_allowed("pause", "canceled")
    assert not states.job_action_allowed("pause", "paused")
    assert states.job_action_allowed("requeue", "completed")
    assert not states.job_action_allowed("requeue", "active")
    assert states.job_action_allowed("delete", "queued")
    assert not states.job_action_allowed("delete", "active")
    assert states.JOB_ACTION_STATUS["requeue"] == J.REQUEUEING
    assert states.JOB_ACTION_STATUS["cancel"] == J.CANCEL_REQUESTED


def test_task_actions():
    assert states.task_action_allowed("cancel", "soft-failed", "active")
    assert not states.task_action_allowed("cancel", "queued", "pause-requested")
    assert not states.task_action_allowed("cancel", "completed", "active")
    assert states.task_action_allowed("requeue", "failed", "failed")
    assert not states.task_action_allowed("requeue", "queued", "active")
    assert states.TASK_ACTION_STATUS == {"cancel": T.CANCELED, "requeue": T.QUEUED}
    assert states.WORKER_ACTIONS["shut-down"] == W.OFFLINE


@pytest.mark.parametrize("new", list(JobStatus))
@pytest.mark.parametrize("old", list(JobStatus))
def test_a_job_entry_that_reads_no_tasks_gives_the_same_steps_without_them(old, new):
    """`job_entry_reads_tasks` lets a caller skip reading 100k task rows: only where the steps do not
    depend on them."""
    every = tasks(*[str(s) for s in TaskStatus], *[str(s) for s in TaskStatus])
    with_tasks = states.job_status_entered(str(old), str(new), every, "why")
    if not states.job_entry_reads_tasks(str(new)):
        assert states.job_status_entered(str(old), str(new), {}, "why") == with_tasks
        assert all(not step.task_changes and not step.refresh_tasks for step in with_tasks)


def test_entries_that_change_tasks_say_they_read_them():
    for new in (J.CANCEL_REQUESTED, J.FAILED, J.PAUSE_REQUESTED, J.REQUEUEING, J.QUEUED):
        assert states.job_entry_reads_tasks(str(new))
    assert not states.job_entry_reads_tasks("active")
