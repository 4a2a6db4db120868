"""A full disk under the Manager (issue 12): 507 naming the disk, a consistent database, one warning,
the farm status, and recovery once space returns. The database and the storage live on a small tmpfs
that the test mounts (root only; skipped with the reason elsewhere)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until
from tests.integration.live import LiveClient

TMPFS_SIZE = "16m"
PAGE = os.sysconf("SC_PAGE_SIZE")  # what tmpfs allocates at a time


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (the full-disk test runs as root only)")
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no space left; returns it (delete it to recover).

    Called again, it adds what was freed since to the same file.
    """
    filler = disk / "filler.bin"
    with open(filler, "ab", buffering=0) as fh:
        for size in (1024 * 1024, 64 * 1024, 4096, 512):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == 28, exc  # ENOSPC
    return filler


def take_the_slack(log_path: Path, database: Path | None = None) -> None:
    """Leave no room in what the disk already gave: pad the task log to the end of its page and empty
    the WAL, so that the next write of either needs space the full disk no longer has. (Without this,
    how many updates still fit depended on where the WAL stood: a flaky count of early 204s.)"""
    pad = -log_path.stat().st_size % PAGE
    if pad:
        with open(log_path, "ab") as fh:
            fh.write(b"." * (pad - 1) + b"\n")
    if database is not None:
        conn = sqlite3.connect(database, timeout=10)
        try:
            assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
        finally:
            conn.close()


def full_without_slack(disk: Path, log_path: Path, database: Path | None = None) -> Path:
    filler = fill(disk)
    take_the_slack(log_path, database)
    return fill(disk)  # what the WAL gave back


def manager_with(tmp_path: Path, database: Path, storage: Path) -> ManagerProcess:
    """A Manager whose config and log stay on the normal disk."""
    proc = ManagerProcess(tmp_path / "manager", extra_config=f"database: {database}\n")
    proc.workdir.mkdir(parents=True)
    proc.write_config()
    config = proc.workdir / "flamenco-manager.yaml"
    config.write_text(config.read_text().replace(f"local_manager_storage_path: {proc.storage}",
                                                 f"local_manager_storage_path: {storage}"))
    return proc.start()


@pytest.fixture
def manager_on_small_disk(tmp_path, small_disk):
    """The database and the storage on the small disk."""
    proc = manager_with(tmp_path, small_disk / "flamenco-manager.sqlite", small_disk / "storage")
    yield proc
    proc.stop()


def submit_and_start(api, manager: ManagerProcess) -> tuple[dict, ScriptedWorker, dict]:
    job = api.post("/api/v3/jobs", json={"name": "full", "type": "echo-sleep-test", "priority": 50,
                                         "submitter_platform": "linux",
                                         "settings": {"message": "m", "sleep_repeats": 1}}).json()
    worker = ScriptedWorker(manager.url, name="streamer").start()
    task = worker.ask_task().json()
    assert worker.update(task["uuid"], activity="rendering", log="frame 1\n").status_code == 204
    return job, worker, task


def test_full_disk_answers_507_keeps_the_database_and_recovers(manager_on_small_disk, small_disk):
    manager = manager_on_small_disk
    api = manager.api()
    live = LiveClient(manager.url)
    try:
        job, worker, task = submit_and_start(api, manager)
        log_path = small_disk / "storage" / f"job-{job['id'][:4]}" / job["id"] / f"task-{task['uuid']}.txt"
        filler = full_without_slack(small_disk, log_path, small_disk / "flamenco-manager.sqlite")
        log_before = log_path.read_bytes()
        answers = []
        for i in range(60):
            try:
                resp = worker.api.session.post(f"{manager.url}/api/v3/worker/task/{task['uuid']}",
                                               json={"activity": f"during {i}", "log": f"line {i}\n" * 50},
                                               auth=worker.api.auth, timeout=10)
                answers.append(resp)
            except requests.ConnectionError as exc:  # a dropped connection is a failure too
                pytest.fail(f"update {i}: connection dropped: {exc}")
        assert {r.status_code for r in answers} == {507}, [r.text for r in answers if r.status_code != 507]
        body = answers[-1].json()
        assert body["code"] == 507 and str(small_disk) in body["message"], body

        status = api.get("/api/v3/status").json()
        assert str(small_disk) in status["disk_full"], status
        live.wait_for("/status", lambda p: str(small_disk) in p.get("disk_full", ""))
        # Reads still work, and nothing of the refused updates was stored.
        assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["activity"] == "rendering"
        assert log_path.read_bytes() == log_before

        filler.unlink()
        wait_until(lambda: "disk_full" not in api.get("/api/v3/status").json(), deadline_s=15,
                   what="the farm status to drop disk_full once space is back")
        live.wait_for("/status", lambda p: "disk_full" not in p and p["status"] == "active")
        assert worker.update(task["uuid"], activity="after", log="frame 2\n").status_code == 204
        assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["activity"] == "after"
        assert log_path.read_bytes() == log_before + b"frame 2\n"
        assert worker.update(task["uuid"], taskStatus="completed").status_code == 204
    finally:
        live.close()

    text = manager.log_text()
    assert text.count(f"no space left on the disk at {small_disk}") == 1, text[-3000:]
    assert text.count(f"the disk at {small_disk} has free space again") == 1
    assert "Traceback" not in text
    manager.stop()
    db = sqlite3.connect(f"file:{small_disk}/flamenco-manager.sqlite?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("SELECT status FROM tasks WHERE uuid = ?", (task["uuid"],)).fetchone() == ("completed",)
    finally:
        db.close()


def test_full_storage_disk_with_the_database_elsewhere(tmp_path, small_disk):
    """The database has room, the task logs do not: still 507 naming the storage disk, one warning."""
    manager = manager_with(tmp_path, tmp_path / "flamenco-manager.sqlite", small_disk / "storage")
    try:
        api = manager.api()
        _job, worker, task = submit_and_start(api, manager)
        filler = fill(small_disk)
        for i in range(10):
            resp = worker.update(task["uuid"], log=f"line {i}\n" * 1000)  # more than the page left
            assert resp.status_code == 507, resp.text
            assert f"the disk at {small_disk} (holding the task logs " in resp.json()["message"]
        assert "task logs" in api.get("/api/v3/status").json()["disk_full"]
        filler.unlink()
        wait_until(lambda: "disk_full" not in api.get("/api/v3/status").json(), deadline_s=15,
                   what="the farm status to drop disk_full once space is back")
        assert worker.update(task["uuid"], log="frame 2\n").status_code == 204
        assert api.get(f"/api/v3/tasks/{task['uuid']}/logtail").text.endswith("frame 1\nframe 2\n")
    finally:
        manager.stop()
    text = manager.log_text()
    assert text.count(f"no space left on the disk at {small_disk}") == 1
    assert "Traceback" not in text
