"""The add-on's memory between operator runs: the Manager info and the last problem.

Module-level on purpose: Blender properties cannot hold lists of job types,
and the panel reads this on every redraw.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import bpy

from . import manager_info
from .manager_api import ManagerClient

ROOT_PACKAGE = __package__  # "flamenco", or "bl_ext.<repo>.flamenco" when installed as an extension



@dataclass
class Status:
    """Progress of the current or last submission.

    Not Blender properties on purpose: window-manager properties are saved
    in the .blend file, so the copy that is uploaded would differ between
    two submissions of an unchanged scene and be uploaded again.
    """

    phase: str = "IDLE"  # IDLE, COMMUNICATING, TRANSFERRING, DONE, ABORTED
    text: str = ""
    progress: int = 0  # percent
    version_mismatch: bool = False
    job_types_stale: bool = False
    last_job_id: str = ""  # for scripts: the ID of the job submitted last


info: manager_info.ManagerInfo | None = None
last_error = ""
status = Status()


def preferences():
    return bpy.context.preferences.addons[ROOT_PACKAGE].preferences


def client() -> ManagerClient:
    prefs = preferences()
    return ManagerClient(prefs.manager_url, token=prefs.manager_token)


def cache_path() -> Path:
    return Path(bpy.utils.user_resource("CONFIG")) / manager_info.CACHE_FILENAME


def hash_cache_path() -> Path:
    cache_dir = getattr(bpy.app, "cachedir", None)  # Blender 4.x; 3.x keeps it with the config
    return Path(cache_dir or bpy.utils.user_resource("CONFIG")) / "flamenco-shaman-hashes.json"


def load_cached() -> None:
    global info
    info = manager_info.load(cache_path())


def remember(new: manager_info.ManagerInfo) -> None:
    global info, last_error
    info, last_error = new, ""
    try:
        manager_info.save(new, cache_path())
    except OSError as exc:
        print(f"Flamenco: cannot save the Manager info to {cache_path()}: {exc}")


def forget() -> None:
    """The Manager URL changed: what we knew belongs to another Manager."""
    global info
    info = None
    with contextlib.suppress(OSError):
        cache_path().unlink()
