"""Long reads of the web UI do not hold up the Workers (real Manager, real HTTP, a 50,000-task job)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import requests

from flamenco_pkg.manager.db.connection import Database, utcnow
from tests.integration.farm import ManagerProcess, ScriptedWorker

N_TASKS = 50_000


def big_job(db_path: Path) -> str:
    """A job of N_TASKS tasks, written before the Manager starts."""
    db = Database(db_path)
    now, job_uuid = utcnow(), str(uuid.uuid4())
    with db.tx() as conn:
        job_id = conn.execute(
            "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status, settings)"
            " VALUES (?, ?, ?, 'big', 'echo-sleep-test', 50, 'paused', '{}')", (now, now, job_uuid)).lastrowid
        conn.executemany(
            "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status, steps_total)"
            " VALUES (?, ?, ?, ?, 'misc', ?, ?, 'paused', 1)",
            ((now, now, str(uuid.uuid4()), f"echo-{i}", job_id, i) for i in range(1, N_TASKS + 1)))
    db.close()
    return job_uuid


def test_worker_calls_are_answered_while_a_huge_task_list_is_read(tmp_path):
    manager = ManagerProcess(tmp_path / "manager")
    manager.workdir.mkdir(parents=True)
    job_uuid = big_job(manager.db_path)
    manager.start()
    try:
        worker = ScriptedWorker(manager.url, name="probe").start()
        headers_in, sending = threading.Event(), threading.Event()
        listed: list[int] = []

        def read_list() -> None:
            with requests.Session() as session:
                session.get(f"{manager.url}/api/v3/version", timeout=10)  # connected: the next request goes at once
                sending.set()
                resp = session.get(f"{manager.url}/api/v3/jobs/{job_uuid}/tasks", stream=True, timeout=300)
                headers_in.set()  # the Manager has finished reading and encoding
                assert resp.status_code == 200
                listed.append(len(resp.json()["tasks"]))

        reader = threading.Thread(target=read_list)
        reader.start()
        assert sending.wait(10)
        answered_during_read = 0
        while not headers_in.is_set():
            resp = worker.api.get("/api/v3/worker/state")
            assert resp.status_code == 204
            if not headers_in.is_set():
                answered_during_read += 1
        reader.join(300)
        assert listed == [N_TASKS]
        # While one SQLite read held the event loop, at most the call already under way got through.
        assert answered_during_read >= 10, f"only {answered_during_read} worker calls answered during the read"
    finally:
        manager.stop()


def test_a_read_right_after_a_write_sees_it(manager, api):
    """Detail and list reads on the read pool see what the request before them committed."""
    tag = api.post("/api/v3/worker-mgt/tags", json={"name": "gpu"}).json()
    for n in range(20):
        assert api.put(f"/api/v3/worker-mgt/tag/{tag['id']}", json={"name": f"gpu-{n}"}).status_code == 204
        assert api.get(f"/api/v3/worker-mgt/tag/{tag['id']}").json()["name"] == f"gpu-{n}"
        assert [t["name"] for t in api.get("/api/v3/worker-mgt/tags").json()["tags"]] == [f"gpu-{n}"]
