"""Pure rules of job -> job dependencies and the state-machine rule they feed (issue 16)."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.job_dependencies.rules import (
    Dependency, blocked_deletions, check_depends_on, failed_dependency, find_cycle, is_ready,
    waiting_activity, waiting_for)
from flamenco_pkg.manager.state_machine.rules import dependency_change_matters, dependent_job_decision

A = Dependency("aaaaaaaa-1111", "bake", "completed")
B = Dependency("bbbbbbbb-2222", "render", "active")
C = Dependency("cccccccc-3333", "comp", "failed")
D = Dependency("dddddddd-4444", "encode", "canceled")


def test_ready_only_when_every_dependency_completed():
    assert is_ready([])
    assert is_ready([A])
    assert not is_ready([A, B])
    assert waiting_for([A, B, C]) == [B, C]


def test_failed_dependency_is_the_first_failed_or_canceled():
    assert failed_dependency([A, B]) is None
    assert failed_dependency([A, D, C]) == D


def test_waiting_activity_names_what_the_job_waits_for():
    assert waiting_activity([A]) == ""
    assert waiting_activity([A, B]) == 'Waiting for job "render" (bbbbbbbb) to complete'
    many = [Dependency(f"{i}" * 8, f"j{i}", "queued") for i in range(1, 6)]
    assert waiting_activity(many) == ('Waiting for jobs "j1" (11111111), "j2" (22222222), '
                                      '"j3" (33333333) and 2 more to complete')


@pytest.mark.parametrize("graph, job, deps, cycle", [
    ({}, "x", ["x"], ["x", "x"]),
    ({"a": []}, "x", ["a"], None),
    ({"a": ["b"], "b": ["x"]}, "x", ["a"], ["x", "a", "b", "x"]),
    ({"a": ["b", "c"], "b": ["c"], "c": []}, "x", ["a", "b"], None),  # a diamond is no cycle
    ({"a": ["b"], "b": ["a"]}, "x", ["a"], None),  # an old cycle elsewhere does not loop for ever
    ({"x": ["a"], "a": []}, "x", [], None),  # the job's own entry is replaced
])
def test_find_cycle(graph, job, deps, cycle):
    assert find_cycle(graph, job, deps) == cycle


def test_find_cycle_on_a_long_chain_without_recursion():
    graph = {f"j{i}": [f"j{i + 1}"] for i in range(5000)}
    graph["j5000"] = ["x"]
    path = find_cycle(graph, "x", ["j0"])
    assert path is not None and path[0] == path[-1] == "x" and len(path) == 5003


def test_check_depends_on():
    assert check_depends_on(None, []) == ([], "")
    assert check_depends_on(["a", "a", "b"], ["a", "b"]) == (["a", "b"], "")
    assert check_depends_on("a", ["a"])[1] == "depends_on must be a list of job ids"
    assert check_depends_on(["a", 3], ["a"])[1] == "depends_on must be a list of job ids"
    assert check_depends_on(["a", "zz"], ["a"])[1] == "depends_on names job(s) that do not exist: zz"
    assert "at most 100" in check_depends_on([str(i) for i in range(101)], [str(i) for i in range(101)])[1]


def test_blocked_deletions_unless_dependents_go_too():
    dependents = {"a": ["b", "c"], "b": ["c"]}
    assert blocked_deletions(dependents, ["a"]) == {"a": ["b", "c"]}
    assert blocked_deletions(dependents, ["a", "b"]) == {"a": ["c"], "b": ["c"]}
    assert blocked_deletions(dependents, ["a", "b", "c"]) == {}
    assert blocked_deletions(dependents, ["c"]) == {}


# --- the state-machine rule ---

def test_job_without_dependencies_is_left_alone():
    assert dependent_job_decision("queued", False, []) is None


def test_waiting_job_says_what_it_waits_for():
    decision = dependent_job_decision("queued", False, [A, B])
    assert decision.status is None and decision.reason.startswith('Waiting for job "render"')
    ready = dependent_job_decision("queued", False, [A])
    assert ready.status is None and ready.reason == "All dependencies completed; ready to run"


def test_failed_dependency_pauses_the_job():
    decision = dependent_job_decision("queued", False, [A, C])
    assert (decision.status, decision.dependency_paused) == ("paused", True)
    assert decision.reason == 'dependency job "comp" (cccccccc) failed'
    active = dependent_job_decision("active", False, [D])
    assert (active.status, active.reason) == ("pause-requested", 'dependency job "encode" (dddddddd) canceled')
    assert dependent_job_decision("paused", True, [C]) is None  # already held
    assert dependent_job_decision("completed", False, [C]) is None


def test_held_job_waits_again_when_the_dependency_is_requeued():
    decision = dependent_job_decision("paused", True, [Dependency(C.uuid, C.name, "queued")])
    assert (decision.status, decision.dependency_paused) == ("requeueing", False)
    assert dependent_job_decision("paused", False, [Dependency(C.uuid, C.name, "queued")]) is None  # operator's


def test_dependency_change_matters_on_entering_or_leaving_an_end_status():
    assert dependency_change_matters("active", "completed")
    assert dependency_change_matters("completed", "requeueing")
    assert dependency_change_matters("active", "failed")
    assert dependency_change_matters("failed", "requeueing")
    assert dependency_change_matters("cancel-requested", "canceled")
    assert not dependency_change_matters("queued", "active")
    assert not dependency_change_matters("requeueing", "queued")
    assert not dependency_change_matters("completed", "completed")
