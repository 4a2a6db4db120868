"""A Manager stopped and started again keeps jobs, tasks, workers and logs."""

from __future__ import annotations

import signal

from tests.integration.farm import ScriptedWorker


def test_restart_keeps_everything(manager, api):
    job = api.post("/api/v3/jobs", json={
        "name": "survivor", "type": "echo-sleep-test", "priority": 70, "submitter_platform": "linux",
        "settings": {"message": "persist", "sleep_repeats": 1, "sleep_duration_seconds": 2}}).json()
    worker = ScriptedWorker(manager.url, name="keeper").start()
    task = worker.ask_task().json()
    assert worker.update(task["uuid"], log="line before restart").status_code == 204
    before_job = api.get(f"/api/v3/jobs/{job['id']}").json()
    before_tasks = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()
    before_log = api.get(f"/api/v3/tasks/{task['uuid']}/logtail").text

    # SIGKILL: no chance to clean up; the database must still be consistent.
    assert manager.stop(signal.SIGKILL) != 0
    manager.start()

    assert api.get(f"/api/v3/jobs/{job['id']}").json() == before_job
    assert api.get(f"/api/v3/jobs/{job['id']}/tasks").json() == before_tasks
    assert api.get(f"/api/v3/tasks/{task['uuid']}/logtail").text == before_log
    assert "line before restart" in before_log
    # The worker's credentials still work and it gets its active task back.
    again = worker.ask_task()
    assert again.status_code == 200
    assert again.json()["uuid"] == task["uuid"]
    assert worker.update(task["uuid"], taskStatus="completed").status_code == 204


def test_graceful_stop_and_restart(manager, api):
    api.post("/api/v3/jobs", json={"name": "a", "type": "echo-sleep-test", "priority": 50,
                                   "submitter_platform": "linux", "settings": {"message": "x"}})
    assert manager.stop(signal.SIGTERM) == 0
    manager.start()
    jobs = api.get("/api/v3/jobs").json()["jobs"]
    assert [j["name"] for j in jobs] == ["a"]


def test_manager_stops_when_its_database_is_damaged(tmp_path):
    import sqlite3

    from tests.integration.farm import ManagerProcess, wait_until

    manager = ManagerProcess(tmp_path / "m", extra_config="database_check_period: 300ms\n").start()
    try:
        conn = sqlite3.connect(manager.db_path)
        with conn:  # a row pointing at a job that does not exist
            conn.execute("INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status)"
                         " VALUES ('x', 'x', 'u', 'n', 't', 999, 1, 'queued')")
        conn.close()
        wait_until(lambda: manager.proc.poll() is not None, deadline_s=15, what="the Manager to stop itself")
        assert "stopping the Manager to protect the data" in manager.log_text()
    finally:
        manager.stop()
