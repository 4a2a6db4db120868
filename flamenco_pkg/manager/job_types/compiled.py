"""From the prelude's compile output to a storable CompiledJob (pure).

Refuses task graphs the database cannot hold, with a 400 naming the task:
upstream only notices these when inserting (a 500). Written for 100k-task
jobs: columns are checked and rows built by C-level zip/map/set calls, and
the per-task search for a culprit runs only when something is wrong.
"""

from __future__ import annotations

from itertools import chain

from .errors import CompileError
from .models import CompiledJob

_ROW_TYPES = [{str}, {str}, {str}, {int}, {int}, {list}]


def compiled_job(output: dict, raw: list, commands: list[str], filename: str) -> CompiledJob:
    """Check and convert `Sandbox.compile` output. Raises CompileError.

    `raw` rows are [uuid, name, type, priority, stepsTotal, [dependency uuid, ...]]
    in addTask order; `commands` holds each task's commands JSON.
    """
    bad = output.get("badParameters")
    if bad:
        raise CompileError(f"task {bad[0]!r}: parameters of command {bad[1]!r} must be an object")
    columns = _columns(raw, commands)
    if columns is None:
        # Only a script that replaced built-ins the prelude relies on gets here.
        raise CompileError(f"job type script {filename} produced tasks that cannot be stored")
    uuids, names, types, priorities, steps, dependencies = columns

    position = dict(zip(uuids, range(len(uuids))))
    if len(position) != len(uuids):
        raise _duplicate(uuids, names, filename)
    try:
        pairs = [(task, position[uuid]) for task, listed in enumerate(dependencies) if listed for uuid in listed]
    except KeyError:
        raise _unknown_dependency(dependencies, position, names, filename) from None
    if len(pairs) > 1:
        pairs = list(dict.fromkeys(pairs))  # a dependency named twice is stored once

    settings = output.get("settings")
    metadata = output.get("metadata")
    return CompiledJob(
        settings=settings if isinstance(settings, dict) else {},
        metadata={str(k): str(v) for k, v in (metadata or {}).items()},
        rows=list(zip(uuids, names, types, priorities, commands, steps)),
        dependencies=pairs,
    )


def _columns(raw: object, commands: list[str]) -> list[tuple] | None:
    """The rows as six columns, or None when they are not what the prelude writes."""
    if not isinstance(raw, list) or len(raw) != len(commands):
        return None
    if not raw:
        return [()] * 6
    if set(map(type, raw)) != {list} or set(map(len, raw)) != {6}:
        return None
    columns = list(zip(*raw))
    if [set(map(type, column)) for column in columns] != _ROW_TYPES:
        return None
    if not set(map(type, chain.from_iterable(columns[5]))) <= {str}:
        return None
    return columns


def _duplicate(uuids: tuple, names: tuple, filename: str) -> CompileError:
    """The error naming the first task added a second time."""
    seen: set[str] = set()
    for uuid, name in zip(uuids, names):
        if uuid in seen:
            return CompileError(f"job type script {filename} added task {name!r} "
                                f"(uuid {uuid}) to the job more than once")
        seen.add(uuid)
    raise AssertionError("no duplicate task found")


def _unknown_dependency(dependencies: tuple, position: dict, names: tuple, filename: str) -> CompileError:
    """The error naming the first task that depends on a task outside the job."""
    for listed, name in zip(dependencies, names):
        for uuid in listed:
            if uuid not in position:
                return CompileError(f"job type script {filename}: task {name!r} depends on "
                                    f"a task that was not added to the job (uuid {uuid})")
    raise AssertionError("no unknown dependency found")
