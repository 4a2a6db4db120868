"""What the add-on knows about the Manager, fetched by "Refresh" and kept on disk (no bpy).

Job types, worker tags and the shared storage location are needed to draw
the panel, so they are cached in a JSON file in Blender's config folder and
reloaded at start-up, instead of asking the Manager on every redraw.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .manager_api import ManagerClient, ManagerError, client_platform

CACHE_FILENAME = "flamenco-manager-info.json"

# Jobs a new job can be made to wait for ("Start After"): those not finished.
DEPENDABLE_STATUSES = ("queued", "active", "paused")
MAX_DEPENDABLE = 50


def dependable_jobs(jobs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The jobs offered by "Start After": not finished nor being deleted, newest first, at most
    MAX_DEPENDABLE, as {id, name, status}."""
    usable = [j for j in jobs if j.get("status") in DEPENDABLE_STATUSES and not j.get("delete_requested_at")]
    usable.sort(key=lambda j: j.get("created", ""), reverse=True)
    return [{"id": j["id"], "name": j.get("name", ""), "status": j["status"]} for j in usable[:MAX_DEPENDABLE]]


@dataclass
class ManagerInfo:
    url: str = ""
    name: str = ""
    version: str = ""
    shortversion: str = ""
    storage_location: str = ""
    shaman_enabled: bool = False
    job_types: list[dict[str, Any]] = field(default_factory=list)
    worker_tags: list[dict[str, Any]] | None = None  # None: the Manager could not say
    jobs: list[dict[str, str]] = field(default_factory=list)  # dependable_jobs() at the last refresh
    fetched_at: float = 0.0

    def job_type(self, name: str) -> dict[str, Any] | None:
        return next((jt for jt in self.job_types if jt.get("name") == name), None)

    def describe(self) -> str:
        return f"{self.name} version {self.version} found"


def fetch(client: ManagerClient, warnings: list[str] | None = None) -> ManagerInfo:
    """Everything the panel needs, from one Manager; raises ManagerError."""
    version = client.version()
    storage = client.shared_storage(client_platform())
    job_types = client.job_types()
    try:
        tags: list[dict[str, Any]] | None = client.worker_tags()
    except ManagerError as exc:
        tags = None
        if warnings is not None:
            warnings.append(f"worker tags unavailable: {exc.message}")
    try:
        jobs = dependable_jobs(client.recent_jobs())
    except ManagerError as exc:
        jobs = []
        if warnings is not None:
            warnings.append(f"jobs to start after unavailable: {exc.message}")
    return ManagerInfo(url=client.url, name=version.get("name", ""), version=version.get("version", ""),
                       shortversion=version.get("shortversion", ""), storage_location=storage.get("location", ""),
                       shaman_enabled=bool(storage.get("shamanEnabled")), job_types=job_types,
                       worker_tags=tags, jobs=jobs, fetched_at=time.time())


def load(path: Path) -> ManagerInfo | None:
    try:
        data = json.loads(path.read_text("utf-8"))
        return ManagerInfo(**{k: v for k, v in data.items() if k in ManagerInfo.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def save(info: ManagerInfo, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(info), indent=1), "utf-8")
    os.replace(temp, path)
