"""deploy/flamenco-backup.py copies the database of a running Manager; the copy restores."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

from tests.integration.farm import REPO, ManagerProcess

BACKUP = REPO / "deploy" / "flamenco-backup.py"


def submit(api, name: str) -> str:
    resp = api.post("/api/v3/jobs", json={
        "name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": name, "sleep_duration_seconds": 1, "sleep_repeats": 3}})
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


def run_backup(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BACKUP), *args], capture_output=True, text=True, timeout=120)


def test_backup_while_running_then_restore(tmp_path, manager, api):
    before = {submit(api, f"before {i}") for i in range(20)}

    # Keep the Manager writing while the copy is made.
    stop = threading.Event()
    during: list[str] = []

    def keep_submitting() -> None:
        while not stop.is_set():
            during.append(submit(api, f"during {len(during)}"))

    writer = threading.Thread(target=keep_submitting)
    writer.start()
    try:
        result = run_backup(str(manager.db_path), str(tmp_path / "backups"))
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    copies = sorted((tmp_path / "backups").glob("flamenco-manager-*.sqlite"))
    assert len(copies) == 1 and str(copies[0]) in result.stdout
    assert not list((tmp_path / "backups").glob("*.partial"))

    with sqlite3.connect(copies[0]) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # A submission caught half-way is still hidden (under-construction): the restored
        # Manager neither shows nor keeps it.
        stored = {row[0] for row in db.execute("SELECT uuid FROM jobs WHERE status != 'under-construction'")}
        # Consistent: every shown job in the copy has all its tasks.
        counts = db.execute("SELECT j.uuid, count(t.id) FROM jobs j LEFT JOIN tasks t ON t.job_id = j.id "
                            "WHERE j.status != 'under-construction' GROUP BY j.id").fetchall()
    assert before <= stored
    assert stored <= before | set(during)
    assert all(n == 4 for _uuid, n in counts), counts

    # Restore: a new Manager started on the copy sees the same jobs.
    manager.stop()
    restored = ManagerProcess(tmp_path / "restored")
    restored.workdir.mkdir()
    restored.extra_config = f"database: {copies[0]}\n"
    restored.start()
    try:
        jobs = restored.api().get("/api/v3/jobs").json()["jobs"]
        assert {j["id"] for j in jobs} == stored
    finally:
        restored.stop()


def test_old_backups_are_pruned_and_a_missing_database_is_an_error(tmp_path, manager):
    folder = tmp_path / "backups"
    folder.mkdir()
    for day in range(1, 5):
        (folder / f"flamenco-manager-2020010{day}-000000.sqlite").write_bytes(b"")
    result = run_backup(str(manager.db_path), str(folder), "--keep", "2")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and names[0] == "flamenco-manager-20200104-000000.sqlite"
    assert "removed old backup" in result.stdout

    missing = run_backup(str(tmp_path / "nope.sqlite"), str(folder))
    assert missing.returncode != 0 and "does not exist" in missing.stderr
