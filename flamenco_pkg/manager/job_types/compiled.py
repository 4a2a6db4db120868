"""From the prelude's task rows to storable tasks, group by group as the script adds them.

Refuses task graphs the database cannot hold, with a 400 naming the task:
upstream only notices these when inserting (a 500). Rows are checked as
they come, so the Manager can store them while the script still runs; after
the first problem no more rows are passed on, and `finish` reports it (in
the order the checks always had: bad parameters, duplicates, unknown
dependencies). Written for 100k-task jobs: columns are checked and rows
built by C-level zip/map/set calls, and the per-task search for a culprit
runs only when something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, repeat

from .errors import CompileError
from .models import CompiledJob, TaskRow

_ROW_TYPES = [{str}, {str}, {str}, {int}, {int}, {list}]

# Where the rows go: (rows, (task position, dependency position) pairs on tasks added before).
Sink = Callable[[list[TaskRow], list[tuple[int, int]]], None]


class TaskCollector:
    """Checks rows [uuid, name, type, priority, stepsTotal, [dependency uuid, ...]] in addTask order."""

    def __init__(self, filename: str, sink: Sink) -> None:
        self.filename = filename
        self.sink = sink
        self.position: dict[str, int] = {}  # uuid -> position in the job
        self.names: list[str] = []
        self.later: list[tuple[int, str]] = []  # dependencies on tasks not added yet
        self.problem: CompileError | None = None

    def add(self, raw: list, commands: list[str]) -> None:
        """Check a group of rows and pass them on, with the dependencies they can name already."""
        if self.problem is not None:
            return
        if not raw and not commands:
            return
        columns = _columns(raw, commands)
        if columns is None:
            # Only a script that replaced built-ins the prelude relies on gets here.
            self.problem = CompileError(f"job type script {self.filename} produced tasks that cannot be stored")
            return
        uuids, names, types, priorities, steps, dependencies = columns
        start = len(self.names)
        if len(set(uuids)) != len(uuids) or not self.position.keys().isdisjoint(uuids):
            self.problem = self._duplicate(uuids, names)
            return
        self.position.update(zip(uuids, range(start, start + len(uuids))))
        self.names.extend(names)
        # Every (task, dependency) in order, by C-level map/zip: a Python loop per task costs
        # a tenth of a second per 100k tasks.
        counts = list(map(len, dependencies))
        named = list(chain.from_iterable(dependencies))
        found = list(map(self.position.get, named))
        owners = list(chain.from_iterable(map(repeat, range(start, start + len(uuids)), counts)))
        if None in found:  # some name tasks added later
            pairs = [(task, dependency) for task, dependency in zip(owners, found) if dependency is not None]
            self.later.extend((task, uuid) for task, uuid, dependency in zip(owners, named, found)
                              if dependency is None)
        else:
            pairs = list(zip(owners, found))
        unique = list(dict.fromkeys(pairs)) if len(pairs) > 1 else pairs  # a dependency named twice is stored once
        if len(unique) == len(named):
            pending = counts
        else:
            pairs = unique
            pending = [0] * len(uuids)
            for task, _dependency in pairs:
                pending[task - start] += 1
        self.sink(list(zip(uuids, names, types, priorities, commands, steps, pending)), pairs)

    def finish(self, output: dict) -> CompiledJob:
        """The job's settings, metadata and the dependencies on tasks added later, once
        compileJob is done; raises the first problem found."""
        bad = output.get("badParameters")
        if bad:
            raise CompileError(f"task {bad[0]!r}: parameters of command {bad[1]!r} must be an object")
        if self.problem is not None:
            raise self.problem
        pairs = []
        for task, uuid in self.later:
            if uuid not in self.position:
                raise CompileError(f"job type script {self.filename}: task {self.names[task]!r} depends on "
                                   f"a task that was not added to the job (uuid {uuid})")
            pairs.append((task, self.position[uuid]))
        settings = output.get("settings")
        metadata = output.get("metadata")
        depends_on = output.get("dependsOn")
        if depends_on is not None and (not isinstance(depends_on, list)
                                       or not all(isinstance(u, str) for u in depends_on)):
            raise CompileError(f"job type script {self.filename}: job.dependsOn must be a list of job ids")
        return CompiledJob(settings=settings if isinstance(settings, dict) else {},
                           metadata={str(k): str(v) for k, v in (metadata or {}).items()},
                           dependencies=list(dict.fromkeys(pairs)),
                           depends_on=list(dict.fromkeys(depends_on or [])))

    def _duplicate(self, uuids: tuple, names: tuple) -> CompileError:
        """The error naming the first task added a second time."""
        seen = set(self.position)
        for uuid, name in zip(uuids, names):
            if uuid in seen:
                return CompileError(f"job type script {self.filename} added task {name!r} "
                                    f"(uuid {uuid}) to the job more than once")
            seen.add(uuid)
        raise AssertionError("no duplicate task found")


def _columns(raw: object, commands: list[str]) -> list[tuple] | None:
    """The rows as six columns, or None when they are not what the prelude writes."""
    if not isinstance(raw, list) or not raw or len(raw) != len(commands):
        return None
    if set(map(type, raw)) != {list} or set(map(len, raw)) != {6}:
        return None
    columns = list(zip(*raw))
    if [set(map(type, column)) for column in columns] != _ROW_TYPES:
        return None
    if not set(map(type, chain.from_iterable(columns[5]))) <= {str}:
        return None
    return columns
