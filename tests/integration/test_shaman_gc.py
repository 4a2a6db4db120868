"""Shaman garbage collection on a real store: the command-line sweeps and the periodic one."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.integration.farm import REPO, ManagerProcess, wait_until
from tests.integration.shaman_client import blob_path, spec, upload_bytes

USED = b"a texture a checkout uses" * 10
UNUSED = b"a texture nobody uses any more" * 10
FRESH = b"a texture uploaded just now" * 10
FORTY_DAYS = 40 * 24 * 3600


def age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def fill_store(manager: ManagerProcess) -> None:
    api = manager.api()
    for data in (USED, UNUSED, FRESH):
        assert upload_bytes(api, data).status_code == 200
    made = api.post("/api/v3/shaman/checkout/create",
                    json={"files": [spec(USED, "tex/used.png")], "checkoutPath": "job-1"})
    assert made.status_code == 200, made.text
    age(blob_path(manager, USED), FORTY_DAYS)
    age(blob_path(manager, UNUSED), FORTY_DAYS)


def run_manager_cli(manager: ManagerProcess, flag: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "flamenco.py"), "manager", flag], cwd=manager.workdir,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=60)


def test_gc_show_then_delete(manager):
    fill_store(manager)
    abandoned = manager.workdir / "shared" / "file-store" / "uploading" / "ab" / ("c" * 62) / "10-dead.tmp"
    abandoned.parent.mkdir(parents=True)
    abandoned.write_bytes(b"half an up")
    age(abandoned, 2 * 3600)

    shown = run_manager_cli(manager, "-shaman-gc-show")
    assert shown.returncode == 0, shown.stderr
    assert f"would delete: {blob_path(manager, UNUSED)}" in shown.stdout
    assert str(blob_path(manager, USED)) not in shown.stdout
    assert "3 files in the store, 2 older than 744h, 1 of those still used" in shown.stdout
    assert blob_path(manager, UNUSED).exists() and abandoned.exists()  # a dry run changes nothing

    deleted = run_manager_cli(manager, "-shaman-gc-delete")
    assert deleted.returncode == 0, deleted.stderr
    assert f"deleted: {blob_path(manager, UNUSED)}" in deleted.stdout
    assert not blob_path(manager, UNUSED).exists()
    assert not abandoned.exists()
    assert blob_path(manager, USED).exists() and blob_path(manager, FRESH).exists()
    assert (manager.workdir / "shared" / "jobs" / "job-1" / "tex" / "used.png").read_bytes() == USED
    # The Manager sees the same store: the deleted file must be uploaded again.
    needed = manager.api().post("/api/v3/shaman/checkout/requirements",
                                json={"files": [spec(UNUSED, "a"), spec(USED, "b")]}).json()["files"]
    assert [f["path"] for f in needed] == ["a"]


def test_periodic_gc(tmp_path):
    manager = ManagerProcess(tmp_path / "m", extra_config=(
        "shaman:\n  enabled: true\n  garbageCollect:\n    period: 200ms\n    maxAge: 1h\n")).start()
    try:
        fill_store(manager)
        wait_until(lambda: not blob_path(manager, UNUSED).exists(), deadline_s=15,
                   what="the periodic garbage collection to remove the unused file")
        assert blob_path(manager, USED).exists() and blob_path(manager, FRESH).exists()
        wait_until(lambda: "Shaman garbage collection: 3 files in the store" in manager.log_text(),
                   what="the sweep's report in the log")
    finally:
        manager.stop()


def test_periodic_gc_without_shared_storage_is_a_plain_warning(tmp_path):
    """Shared storage cleared while running: the sweep says so plainly, no traceback each period."""
    manager = ManagerProcess(tmp_path / "m", extra_config=(
        "shaman:\n  enabled: true\n  garbageCollect:\n    period: 200ms\n    maxAge: 1h\n")).start()
    try:
        api = manager.api()
        config = api.get("/api/v3/configuration/file").json()
        config["shared_storage_path"] = ""
        assert api.put("/api/v3/configuration/file", json=config).status_code == 204
        wait_until(lambda: manager.log_text().count("Shaman garbage collection skipped") >= 2, deadline_s=15,
                   what="two sweeps skipped for lack of shared storage")
        assert "Traceback" not in manager.log_text()
    finally:
        manager.stop()
