"""Worker protocol details: status requests, failures, blocklisting, the spec endpoint."""

from __future__ import annotations

import sqlite3

import pytest

from tests.integration.farm import ManagerProcess, ScriptedWorker


def submit(api, repeats: int = 0) -> dict:
    resp = api.post("/api/v3/jobs", json={"name": "j", "type": "echo-sleep-test", "priority": 50,
                                          "submitter_platform": "linux",
                                          "settings": {"message": "m", "sleep_repeats": repeats}})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_spec_is_served(api):
    spec = api.get("/api/v3/openapi3.json", check=False).json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v3/worker/task" in spec["paths"]


def test_signed_off_worker_is_told_to_wake_before_getting_tasks(manager, api):
    submit(api)
    worker = ScriptedWorker(manager.url).start()
    worker.sign_off()
    # Signing off remembers "awake" as a pending request: task requests get 423 until acknowledged.
    resp = worker.ask_task()
    assert resp.status_code == 423
    assert resp.json() == {"status_requested": "awake"}
    state = worker.api.get("/api/v3/worker/state")
    assert state.status_code == 200 and state.json() == {"status_requested": "awake"}
    assert worker.sign_on() == "awake"
    worker.state_changed("awake")
    assert worker.api.get("/api/v3/worker/state").status_code == 204
    assert worker.ask_task().status_code == 200


def test_worker_leaving_awake_returns_its_task(manager, api):
    submit(api)
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    worker.state_changed("asleep")
    after = api.get(f"/api/v3/tasks/{task['uuid']}").json()
    assert after["status"] == "queued"
    assert "Returned to the pool" in after["activity"]
    assert worker.may_i_run(task["uuid"])["mayKeepRunning"] is False
    assert worker.ask_task().status_code == 409  # asleep workers get no tasks


def test_only_worker_failing_a_task_fails_the_job(manager, api):
    job = submit(api)
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    assert worker.update(task["uuid"], taskStatus="failed", activity="exit code 1").status_code == 204
    assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "failed"
    failed = api.get(f"/api/v3/jobs/{job['id']}").json()
    assert failed["status"] == "failed"
    assert "no more workers left" in failed["activity"]
    assert "no other worker can run it" in api.get(f"/api/v3/tasks/{task['uuid']}/logtail").text


@pytest.fixture
def strict_manager(tmp_path):
    proc = ManagerProcess(tmp_path / "strict", extra_config="blocklist_threshold: 2\n"
                                                         "task_fail_after_softfail_count: 5\n").start()
    yield proc
    proc.stop()


def test_worker_is_blocklisted_after_threshold_failures(strict_manager):
    api = strict_manager.api()
    job = submit(api, repeats=4)
    w1 = ScriptedWorker(strict_manager.url, name="flaky").start()
    ScriptedWorker(strict_manager.url, name="steady").start()
    echo = w1.ask_task().json()
    assert w1.update(echo["uuid"], taskStatus="completed").status_code == 204

    for _ in range(2):
        task = w1.ask_task().json()
        assert task["name"] == "sleep"
        assert w1.update(task["uuid"], taskStatus="failed").status_code == 204
        assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "soft-failed"

    # Two failed misc tasks in this job: the worker is blocklisted for misc there.
    assert w1.ask_task().status_code == 204
    conn = sqlite3.connect(strict_manager.db_path)
    blocks = conn.execute("""SELECT w.name, b.task_type FROM job_blocks b JOIN workers w ON w.id = b.worker_id
                             JOIN jobs j ON j.id = b.job_id WHERE j.uuid = ?""", (job["id"],)).fetchall()
    conn.close()
    assert blocks == [("flaky", "misc")]
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "active"


def test_stuck_job_is_finished_at_startup(manager, api):
    job = submit(api, repeats=2)
    manager.stop()
    conn = sqlite3.connect(manager.db_path)
    with conn:
        conn.execute("UPDATE jobs SET status = 'cancel-requested' WHERE uuid = ?", (job["id"],))
    conn.close()
    manager.start()
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "canceled"
    tasks = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]
    assert {t["status"] for t in tasks} == {"canceled"}
