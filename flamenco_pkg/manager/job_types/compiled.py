"""From the prelude's task columns to storable tasks, group by group as the script adds them.

Refuses task graphs the database cannot hold, with a 400 naming the task:
upstream only notices these when inserting (a 500). Tasks are checked as
they come, so the Manager can store them while the script still runs; after
the first problem no more tasks are passed on, and `finish` reports it (in
the order the checks always had: bad parameters, duplicates, unknown
dependencies). Written for 100k-task jobs: columns are checked and passed on
by C-level zip/map/set calls, and the per-task search for a culprit runs
only when something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain, repeat

from .errors import CompileError
from .models import CompiledJob, TaskGroup

# The prelude's columns: uuids, names, types, numbers (priority, stepsTotal, dependency count of
# each task in turn), dependency uuids.
_COLUMN_TYPES = [str, str, str, int, str]

# Where the tasks go: (tasks, (task position, dependency position) pairs on tasks added before).
Sink = Callable[[TaskGroup, list[tuple[int, int]]], None]


class TaskCollector:
    """Checks the prelude's task columns in addTask order and passes them on as TaskGroups."""

    def __init__(self, filename: str, sink: Sink) -> None:
        self.filename = filename
        self.sink = sink
        self.position: dict[str, int] = {}  # uuid -> position in the job
        self.names: list[str] = []
        self.later: list[tuple[int, str]] = []  # dependencies on tasks not added yet
        self.problem: CompileError | None = None
        # One string object per distinct name, type and commands text: pickle sends each once.
        self._texts: dict[str, str] = {}

    def add(self, raw: list, commands: list[str]) -> None:
        """Check a group of tasks and pass them on, with the dependencies they can name already."""
        if self.problem is not None:
            return
        columns = _columns(raw, commands)
        if columns is None:
            # Only a script that replaced built-ins the prelude relies on gets here.
            self.problem = CompileError(f"job type script {self.filename} produced tasks that cannot be stored")
            return
        uuids, names, types, priorities, steps, counts, named = columns
        if not uuids:
            return
        start = len(self.names)
        if len(set(uuids)) != len(uuids) or not self.position.keys().isdisjoint(uuids):
            self.problem = self._duplicate(uuids, names)
            return
        self.position.update(zip(uuids, range(start, start + len(uuids))))
        self.names.extend(names)
        # Every (task, dependency) in order, by C-level map/zip: a Python loop per task costs
        # a tenth of a second per 100k tasks.
        found = list(map(self.position.get, named))
        owners = list(chain.from_iterable(map(repeat, range(start, start + len(uuids)), counts)))
        if None in found:  # some name tasks added later
            pairs = [(task, dependency) for task, dependency in zip(owners, found) if dependency is not None]
            self.later.extend((task, uuid) for task, uuid, dependency in zip(owners, named, found)
                              if dependency is None)
        else:
            pairs = list(zip(owners, found))
        # A dependency named twice is stored once; only a task naming several can name one twice.
        unique = list(dict.fromkeys(pairs)) if len(pairs) > 1 and max(counts) > 1 else pairs
        if len(unique) == len(named):
            pending = counts
        else:
            pairs = unique
            pending = [0] * len(uuids)
            for task, _dependency in pairs:
                pending[task - start] += 1
        texts = self._texts
        self.sink(TaskGroup(uuids, list(map(texts.setdefault, names, names)),
                            list(map(texts.setdefault, types, types)), priorities,
                            list(map(texts.setdefault, commands, commands)), steps, pending), pairs)

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


def _columns(raw: object, commands: list[str]) -> list[list] | None:
    """uuids, names, types, priorities, stepsTotals, dependency counts and dependency uuids, or None
    when the columns are not what the prelude writes."""
    if not isinstance(raw, list) or len(raw) != 5 or set(map(type, raw)) != {list}:
        return None
    uuids, names, types, numbers, dependencies = raw
    if set(map(len, (uuids, names, types))) != {len(commands)} or len(numbers) != 3 * len(commands):
        return None
    if any(not set(map(type, column)) <= {kind} for column, kind in zip(raw, _COLUMN_TYPES)):
        return None
    counts = numbers[2::3]
    if sum(counts) != len(dependencies) or (counts and min(counts) < 0):
        return None
    return [uuids, names, types, numbers[0::3], numbers[1::3], counts, dependencies]
