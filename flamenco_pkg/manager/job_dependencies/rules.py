"""Pure rules of job -> job dependencies (no I/O).

A dependency is described by a `Dependency` (uuid, name, status). Graphs are
maps of job uuid -> uuids of the jobs it depends on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# A dependency in one of these will not complete unless an operator requeues it.
STOPPED = frozenset({"failed", "canceled"})

# Jobs that may be named in depends_on: any shown job not being deleted.
MAX_DEPENDENCIES = 100


@dataclass(frozen=True)
class Dependency:
    uuid: str
    name: str
    status: str

    def label(self) -> str:
        """How activities and messages name a job: its name and the start of its id."""
        return f'"{self.name}" ({self.uuid[:8]})'


def is_ready(dependencies: Iterable[Dependency]) -> bool:
    """Every dependency is completed (true for none)."""
    return all(d.status == "completed" for d in dependencies)


def waiting_for(dependencies: Iterable[Dependency]) -> list[Dependency]:
    """The dependencies not completed yet, in the given order."""
    return [d for d in dependencies if d.status != "completed"]


def failed_dependency(dependencies: Iterable[Dependency]) -> Dependency | None:
    """The first dependency that failed or was canceled, if any."""
    return next((d for d in dependencies if d.status in STOPPED), None)


def waiting_activity(dependencies: Sequence[Dependency]) -> str:
    """The activity of a job waiting for its dependencies ('' when it waits for none)."""
    pending = waiting_for(dependencies)
    if not pending:
        return ""
    named = ", ".join(d.label() for d in pending[:3])
    more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
    word = "job" if len(pending) == 1 else "jobs"
    return f"Waiting for {word} {named}{more} to complete"


def find_cycle(graph: Mapping[str, Iterable[str]], job: str, depends_on: Iterable[str]) -> list[str] | None:
    """A cycle that giving `job` the dependencies `depends_on` would close, or None.

    Returned as the path of uuids [job, ..., job]: `job` depends on the
    second, which depends on the next, and so on back to `job`. `graph`
    holds the other jobs' current dependencies; `job`'s own entry is
    replaced by `depends_on`. Iterative (long chains do not hit Python's
    recursion limit).
    """
    edges = dict(graph)
    edges[job] = list(depends_on)
    parent: dict[str, str] = {}
    stack = [job]
    seen = {job}
    while stack:
        current = stack.pop()
        for nxt in edges.get(current, ()):
            if nxt == job:
                path = [current]
                while path[-1] != job:
                    path.append(parent[path[-1]])
                return [*reversed(path), job]
            if nxt not in seen:
                seen.add(nxt)
                parent[nxt] = current
                stack.append(nxt)
    return None


def check_depends_on(depends_on: object, known: Iterable[str]) -> tuple[list[str], str]:
    """The distinct uuids of a submitted `depends_on`, in order, and '' or what is wrong with it.

    `known` are the uuids of jobs that may be depended on. Checked: a list of
    strings, at most MAX_DEPENDENCIES, each a known job.
    """
    if depends_on is None:
        return [], ""
    if not isinstance(depends_on, list) or not all(isinstance(u, str) for u in depends_on):
        return [], "depends_on must be a list of job ids"
    wanted = list(dict.fromkeys(depends_on))
    if len(wanted) > MAX_DEPENDENCIES:
        return wanted, f"depends_on may name at most {MAX_DEPENDENCIES} jobs, not {len(wanted)}"
    known_set = set(known)
    unknown = [u for u in wanted if u not in known_set]
    if unknown:
        return wanted, f"depends_on names job(s) that do not exist: {', '.join(unknown)}"
    return wanted, ""


def blocked_deletions(dependents: Mapping[str, Iterable[str]], deleting: Iterable[str]) -> dict[str, list[str]]:
    """Jobs in `deleting` that a job not being deleted depends on: uuid -> those dependents.

    `dependents` maps a job to the jobs that depend on it (those already
    marked for deletion left out by the caller).
    """
    gone = set(deleting)
    blocked = {}
    for job in deleting:
        left = [d for d in dependents.get(job, ()) if d not in gone]
        if left:
            blocked[job] = left
    return blocked
