"""Small helpers for talking Shaman over HTTP in the tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import requests

from tests.integration.farm import REPO, Api, ManagerProcess


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec(data: bytes, path: str) -> dict[str, Any]:
    return {"sha": sha(data), "size": len(data), "path": path}


def upload(api: Api, data: Any, *, checksum: str, size: int, defer: bool = False,
           filename: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/octet-stream", "X-Shaman-Can-Defer-Upload": str(defer).lower()}
    if filename is not None:
        headers["X-Shaman-Original-Filename"] = filename
    return api.call("POST", f"/api/v3/shaman/files/{checksum}/{size}", data=data, headers=headers)


def upload_bytes(api: Api, data: bytes, **kw: Any) -> requests.Response:
    return upload(api, data, checksum=sha(data), size=len(data), **kw)


def blob_path(manager: ManagerProcess, data: bytes) -> Path:
    digest = sha(data)
    return manager.workdir / "shared" / "file-store" / "stored" / digest[:2] / digest[2:] / f"{len(data)}.blob"


def temp_files(manager: ManagerProcess) -> list[Path]:
    return sorted((manager.workdir / "shared" / "file-store" / "uploading").rglob("*.tmp"))


def jobs_dir(manager: ManagerProcess) -> Path:
    return manager.workdir / "shared" / "jobs"


ADDON_DIST = REPO / "flamenco_pkg" / "manager" / "addon_dist" / "flamenco-addon.zip"


def ensure_addon_built() -> Path:
    """The add-on zip the Manager serves; built when missing or older than its sources (no `make`).

    Under a lock: test processes running side by side must not build it at the same time.
    """
    import fcntl
    import subprocess
    import sys

    ADDON_DIST.parent.mkdir(parents=True, exist_ok=True)
    with open(ADDON_DIST.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sources = [p for p in (REPO / "addon").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        if not ADDON_DIST.exists() or ADDON_DIST.stat().st_mtime < max(p.stat().st_mtime for p in sources):
            subprocess.run([sys.executable, str(REPO / "addon" / "build_addon.py")], check=True, timeout=120)
    return ADDON_DIST


def load_addon() -> str:
    """Import addon/flamenco without Blender, under another name; returns that name.

    Only the add-on's modules that do not import bpy can be used this way.
    """
    import importlib.util
    import sys

    name = "flamenco_addon_under_test"
    if name not in sys.modules:
        folder = REPO / "addon" / "flamenco"
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return name
