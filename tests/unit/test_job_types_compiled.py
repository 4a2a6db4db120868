"""From the prelude's task columns to storable tasks, group by group: the checks that give a 400 (compiled.py)."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.job_types.compiled import TaskCollector
from flamenco_pkg.manager.job_types.errors import CompileError

OUTPUT = {"ok": True, "settings": {"a": 1}, "metadata": {"k": 5}, "badParameters": None}
ECHO = '[{"name":"echo","parameters":{},"total_step_count":0}]'


def row(uuid: str, name: str = "t", deps: list | None = None, steps: int = 1) -> list:
    return [uuid, name, "misc", 50, steps, deps or []]


def columns(rows: list) -> list:
    """Rows as the prelude hands them out: columns, the numbers of a task in turn, the dependencies in one list."""
    return ([[r[i] for r in rows] for i in range(3)] + [[n for r in rows for n in (r[3], r[4], len(r[5]))]]
            + [[d for r in rows for d in r[5]]])


class Sink:
    def __init__(self) -> None:
        self.groups: list[tuple[list, list]] = []

    def __call__(self, tasks, pairs: list) -> None:
        self.groups.append((tasks.rows(), pairs))


def collect(*groups: list, output: dict | None = None):
    sink = Sink()
    collector = TaskCollector("x.js", sink)
    for group in groups:
        collector.add(columns(group), [ECHO] * len(group))
    return collector.finish(output or OUTPUT), sink.groups


def test_groups_pass_on_rows_and_the_dependencies_they_can_name():
    compiled, groups = collect([row("a", steps=3), row("b", deps=["a"])], [row("c", deps=["a", "b", "a"])])
    assert groups == [  # the last field counts the dependencies passed on with the task
        ([("a", "t", "misc", 50, ECHO, 3, 0), ("b", "t", "misc", 50, ECHO, 1, 1)], [(1, 0)]),
        ([("c", "t", "misc", 50, ECHO, 1, 2)], [(2, 0), (2, 1)]),  # a dependency named twice is stored once
    ]
    assert (compiled.settings, compiled.metadata, compiled.dependencies) == ({"a": 1}, {"k": "5"}, [])


def test_dependency_on_a_task_added_later_comes_with_the_result():
    compiled, groups = collect([row("a", deps=["b", "c"])], [row("b"), row("c", deps=["b"])])
    assert groups == [([("a", "t", "misc", 50, ECHO, 1, 0)], []),
                      ([("b", "t", "misc", 50, ECHO, 1, 0), ("c", "t", "misc", 50, ECHO, 1, 1)], [(2, 1)])]
    assert compiled.dependencies == [(0, 1), (0, 2)]


def test_known_later_and_repeated_dependencies_in_one_group():
    compiled, groups = collect([row("a", deps=["x"]), row("b", deps=["a", "x", "a"]), row("c", deps=["b", "a"])],
                               [row("x")])
    assert groups[0] == ([("a", "t", "misc", 50, ECHO, 1, 0), ("b", "t", "misc", 50, ECHO, 1, 1),
                          ("c", "t", "misc", 50, ECHO, 1, 2)], [(1, 0), (2, 1), (2, 0)])
    assert compiled.dependencies == [(0, 3), (1, 3)]

def test_no_tasks():
    compiled, groups = collect()
    assert (groups, compiled.rows) == ([], [])


def test_duplicate_named_at_its_second_addition_and_nothing_passed_on_after_it():
    with pytest.raises(CompileError) as excinfo:
        collect([row("a", "first"), row("b")], [row("c"), row("a", "again"), row("b", "later")], [row("d")])
    assert excinfo.value.message == "job type script x.js added task 'again' (uuid a) to the job more than once"


def test_duplicate_within_one_group():
    sink = Sink()
    collector = TaskCollector("x.js", sink)
    collector.add(columns([row("a"), row("a", "twice")]), [ECHO, ECHO])
    assert sink.groups == []
    with pytest.raises(CompileError, match="'twice' \\(uuid a\\)"):
        collector.finish(OUTPUT)


def test_unknown_dependency_named_with_its_task():
    with pytest.raises(CompileError) as excinfo:
        collect([row("a"), row("b", "waits", deps=["a", "nope"])])
    assert excinfo.value.message == ("job type script x.js: task 'waits' depends on a task that was not "
                                     "added to the job (uuid nope)")


def test_bad_parameters_reported_first():
    with pytest.raises(CompileError) as excinfo:
        collect([row("a"), row("a")], output=dict(OUTPUT, badParameters=["render", "blender-render"]))
    assert excinfo.value.message == "task 'render': parameters of command 'blender-render' must be an object"


@pytest.mark.parametrize("rows, commands", [
    ([["a"], ["t"], ["misc"], [50, 1, 0]], [ECHO]),  # a column missing
    ([["a"], ["t", "u"], ["misc"], [50, 1, 0], []], [ECHO]),  # a column too long
    ([["a"], ["t"], ["misc"], [50, 1], []], [ECHO]),  # a number missing
    ([["a"], ["t"], ["misc"], ["50", 1, 0], []], [ECHO]),  # priority not an int
    ([["a"], ["t"], ["misc"], [50, 1, 1], [3]], [ECHO]),  # dependency not a UUID
    ([["a"], ["t"], ["misc"], [50, 1, 2], ["a"]], [ECHO]),  # fewer dependencies than counted
    ([["a"], ["t"], ["misc"], [50, 1, 0], []], []),  # commands missing
    ({"a": 1}, [ECHO]),
])
def test_rows_not_written_by_the_prelude_are_refused(rows, commands):
    sink = Sink()
    collector = TaskCollector("x.js", sink)
    collector.add(rows, commands)
    assert sink.groups == []
    with pytest.raises(CompileError, match="produced tasks that cannot be stored"):
        collector.finish(OUTPUT)
