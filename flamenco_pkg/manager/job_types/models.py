"""Plain data produced by compiling a job: what the storage layer persists.

A compiled job keeps its tasks as storable rows rather than objects: a
100,000-task job is then moved between processes and into SQLite without
building 100,000 objects twice. `tasks` gives the object view for the few
callers that want to look at a job (tests, small jobs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass
class AuthoredCommand:
    name: str
    parameters: dict
    total_step_count: int = 0  # 0 means "this command does not report steps"


@dataclass
class AuthoredTask:
    uuid: str
    name: str
    type: str
    priority: int
    commands: list[AuthoredCommand] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)  # UUIDs of tasks in the same job

    @property
    def steps_total(self) -> int:
        """Steps the web UI expects: a command without step reporting still counts as one."""
        return sum(max(1, command.total_step_count) for command in self.commands)


# One task as stored: (uuid, name, type, priority, commands JSON, steps_total,
# deps_pending). Its position in the job is its index_in_job - 1. Between
# processes tasks travel as a TaskGroup (these fields as columns) instead,
# and small jobs collected whole keep plain tuples. commands JSON: [{"name",
# "parameters", "total_step_count"}]. deps_pending counts the dependencies
# handed over with the task (on tasks added before it); those on tasks
# added later come at the end (see compiled.TaskCollector).
TaskRow = tuple[str, str, str, int, str, int, int]


class TaskGroup(NamedTuple):
    """Tasks as they go from the job type to storage: the TaskRow fields as columns.

    Columns rather than rows: nothing on the way builds a tuple per task
    (the database insert zips them in C), and the many equal names, types
    and commands texts are one string each, which pickle sends once.
    """

    uuids: list[str]
    names: list[str]
    types: list[str]
    priorities: list[int]
    commands: list[str]
    steps: list[int]
    pending: list[int]

    def rows(self) -> list[TaskRow]:
        return list(zip(*self))

    def slice(self, start: int, stop: int) -> TaskGroup:
        return TaskGroup(*(column[start:stop] for column in self))


@dataclass
class CompiledJob:
    settings: dict
    metadata: dict[str, str]
    # Empty when the tasks went elsewhere while compiling (registry.compile(on_tasks=...)).
    rows: list[TaskRow] = field(default_factory=list)
    # (task position, dependency position) pairs, each pair once. After
    # registry.compile(on_tasks=...): only those on tasks added later, which
    # no row's deps_pending counts yet.
    dependencies: list[tuple[int, int]] = field(default_factory=list)
    # Job ids the job waits for, as the script left `job.dependsOn` (our addition).
    depends_on: list[str] = field(default_factory=list)

    @property
    def steps_total(self) -> int:
        return sum(row[5] for row in self.rows)

    @property
    def tasks(self) -> list[AuthoredTask]:
        """The tasks as objects, in job order (decodes every row: not for big jobs)."""
        depends_on: dict[int, list[str]] = {}
        for task, dependency in self.dependencies:
            depends_on.setdefault(task, []).append(self.rows[dependency][0])
        return [
            AuthoredTask(uuid, name, type_, priority,
                         [AuthoredCommand(c["name"], c["parameters"], c["total_step_count"])
                          for c in json.loads(commands)],
                         depends_on.get(position, []))
            for position, (uuid, name, type_, priority, commands, _steps, _pending) in enumerate(self.rows)
        ]
