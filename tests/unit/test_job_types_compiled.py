"""From the prelude's rows to storable tasks: the checks that give a 400 instead of a 500 (compiled.py)."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.job_types.compiled import compiled_job
from flamenco_pkg.manager.job_types.errors import CompileError

OUTPUT = {"ok": True, "settings": {"a": 1}, "metadata": {"k": 5}, "badParameters": None}
ECHO = '[{"name":"echo","parameters":{},"total_step_count":0}]'


def row(uuid: str, name: str = "t", deps: list | None = None, steps: int = 1) -> list:
    return [uuid, name, "misc", 50, steps, deps or []]


def compile_rows(rows: list, output: dict | None = None):
    return compiled_job(output or OUTPUT, rows, [ECHO] * len(rows), "x.js")


def test_rows_dependencies_and_steps():
    job = compile_rows([row("a", steps=3), row("b", deps=["a"]), row("c", deps=["a", "b", "a"])])
    assert job.rows == [("a", "t", "misc", 50, ECHO, 3), ("b", "t", "misc", 50, ECHO, 1),
                        ("c", "t", "misc", 50, ECHO, 1)]
    assert job.dependencies == [(1, 0), (2, 0), (2, 1)]  # a dependency named twice is stored once
    assert job.steps_total == 5
    assert (job.settings, job.metadata) == ({"a": 1}, {"k": "5"})
    assert [t.dependencies for t in job.tasks] == [[], ["a"], ["a", "b"]]
    assert job.tasks[0].commands[0].name == "echo"


def test_dependency_on_a_task_added_later():
    job = compile_rows([row("a", deps=["b"]), row("b")])
    assert job.dependencies == [(0, 1)]


def test_no_tasks():
    job = compile_rows([])
    assert (job.rows, job.dependencies, job.steps_total) == ([], [], 0)


def test_duplicate_named_at_its_second_addition():
    with pytest.raises(CompileError) as excinfo:
        compile_rows([row("a", "first"), row("b"), row("a", "again"), row("b", "later")])
    assert excinfo.value.message == "job type script x.js added task 'again' (uuid a) to the job more than once"


def test_unknown_dependency_named_with_its_task():
    with pytest.raises(CompileError) as excinfo:
        compile_rows([row("a"), row("b", "waits", deps=["a", "nope"])])
    assert excinfo.value.message == ("job type script x.js: task 'waits' depends on a task that was not "
                                     "added to the job (uuid nope)")


def test_bad_parameters_reported_first():
    output = dict(OUTPUT, badParameters=["render", "blender-render"])
    with pytest.raises(CompileError) as excinfo:
        compile_rows([row("a"), row("a")], output)
    assert excinfo.value.message == "task 'render': parameters of command 'blender-render' must be an object"


@pytest.mark.parametrize("rows, commands", [
    ([["a", "t", "misc", 50, 1]], [ECHO]),  # short row
    ([["a", "t", "misc", "50", 1, []]], [ECHO]),  # priority not an int
    ([["a", "t", "misc", 50, 1, [3]]], [ECHO]),  # dependency not a UUID
    ([["a", "t", "misc", 50, 1, []]], []),  # commands missing
    ({"a": 1}, []),
])
def test_rows_not_written_by_the_prelude_are_refused(rows, commands):
    with pytest.raises(CompileError, match="produced tasks that cannot be stored"):
        compiled_job(OUTPUT, rows, commands, "x.js")
