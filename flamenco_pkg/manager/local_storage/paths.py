"""Where the Manager keeps per-job files (task logs, last-rendered images).

Layout as upstream: `<root>/job-<first 4 of job uuid>/<job uuid>/`. Every path
is built from validated UUIDs and checked to stay inside the root.
"""

from __future__ import annotations

import re
from pathlib import Path

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class UnsafePath(ValueError):
    """A requested path would leave the storage root."""


def check_uuid(value: str) -> str:
    if not UUID_RE.match(value):
        raise UnsafePath(f"not a UUID: {value!r}")
    return value


def job_dir_rel(job_uuid: str) -> str:
    check_uuid(job_uuid)
    return f"job-{job_uuid[:4]}/{job_uuid}"


def task_log_rel(job_uuid: str, task_uuid: str) -> str:
    return f"{job_dir_rel(job_uuid)}/task-{check_uuid(task_uuid)}.txt"


def inside(root: Path, relative: str) -> Path:
    """`root / relative`, refusing anything that resolves outside root."""
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise UnsafePath(f"path {relative!r} leaves the storage folder")
    return target
