"""Farm operations over real HTTP and a real Socket.IO client (issue 3)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest

from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until
from tests.integration.live import LiveClient


def submit(api, repeats: int = 3, name: str = "job") -> dict:
    resp = api.post("/api/v3/jobs", json={"name": name, "type": "echo-sleep-test", "priority": 50,
                                          "submitter_platform": "linux",
                                          "settings": {"message": "m", "sleep_repeats": repeats}})
    assert resp.status_code == 200, resp.text
    return resp.json()


def statuses(api, job_id: str) -> list[str]:
    return [t["status"] for t in api.get(f"/api/v3/jobs/{job_id}/tasks").json()["tasks"]]


def set_job_status(api, job_id: str, status: str) -> None:
    resp = api.post(f"/api/v3/jobs/{job_id}/setstatus", json={"status": status, "reason": "test"})
    assert resp.status_code == 204, resp.text


@pytest.fixture
def live(manager):
    client = LiveClient(manager.url)
    yield client
    client.check_schemas()
    client.close()


def test_cancel_cascade_through_api_and_events(manager, api, live):
    live.subscribe("allJobs")
    job = submit(api)
    live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "queued")
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()

    set_job_status(api, job["id"], "cancel-requested")
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "canceled"
    assert statuses(api, job["id"]) == ["canceled"] * 4
    live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "cancel-requested")
    final = live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "canceled")
    assert final["previous_status"] == "cancel-requested"
    # The running worker is told to stop.
    assert worker.may_i_run(task["uuid"])["mayKeepRunning"] is False
    assert worker.update(task["uuid"], taskStatus="completed").status_code == 409


def test_requeue_cascade(manager, api, live):
    live.subscribe("allJobs")
    job = submit(api, repeats=1)
    worker = ScriptedWorker(manager.url).start()
    for _ in range(2):
        task = worker.ask_task().json()
        assert worker.update(task["uuid"], taskStatus="completed").status_code == 204
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "completed"

    set_job_status(api, job["id"], "requeueing")
    after = api.get(f"/api/v3/jobs/{job['id']}").json()
    assert after["status"] == "queued" and after["steps_completed"] == 0
    assert statuses(api, job["id"]) == ["queued", "queued"]
    requeued = live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "queued"
                             and p.get("previous_status") == "requeueing")
    assert requeued["refresh_tasks"] is True


def test_requeue_one_task_of_completed_job_requeues_all(manager, api):
    job = submit(api, repeats=1)
    worker = ScriptedWorker(manager.url).start()
    done = []
    for _ in range(2):
        task = worker.ask_task().json()
        worker.update(task["uuid"], taskStatus="completed")
        done.append(task["uuid"])
    resp = api.post(f"/api/v3/tasks/{done[1]}/setstatus", json={"status": "queued", "reason": "redo"})
    assert resp.status_code == 204
    assert statuses(api, job["id"]) == ["queued", "queued"]
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "queued"


def test_pause_cascade_waits_for_active_task(manager, api, live):
    live.subscribe("allJobs")
    job = submit(api, repeats=2)
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()  # echo is active
    set_job_status(api, job["id"], "pause-requested")
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "pause-requested"
    assert statuses(api, job["id"]) == ["active", "paused", "paused"]
    # The active task may finish; then the job is paused.
    assert worker.may_i_run(task["uuid"])["mayKeepRunning"] is True
    assert worker.update(task["uuid"], taskStatus="completed").status_code == 204
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "paused"
    live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "paused")
    assert worker.ask_task().status_code == 204


def test_subscriber_gets_task_updates_and_live_log_lines(manager, api, live):
    job = submit(api, repeats=0)
    live.subscribe("job", job["id"])
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    live.subscribe("tasklog", task["uuid"])
    live.wait_for("/task", lambda p: p["id"] == task["uuid"] and p["status"] == "active")
    worker.update(task["uuid"], log="rendering frame 1\n")
    worker.update(task["uuid"], log="rendering frame 2\n")
    line = live.wait_for("/tasklog", lambda p: "frame 2" in p["log"])
    assert line["task_id"] == task["uuid"]
    logs = [p["log"] for p in live.of("/tasklog") if p["task_id"] == task["uuid"]]
    assert logs.index("rendering frame 1\n") < logs.index("rendering frame 2\n")
    worker.update(task["uuid"], taskStatus="completed")
    done = live.wait_for("/task", lambda p: p["id"] == task["uuid"] and p["status"] == "completed")
    assert done["previous_status"] == "active"
    assert done["worker"]["uuid"] == worker.uuid


def test_unsubscribed_rooms_get_nothing(manager, api, live):
    job = submit(api, repeats=0)
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    worker.update(task["uuid"], log="quiet\n", taskStatus="completed")
    # Farm status comes to every client; job and task events only when subscribed.
    live.wait_for("/status")
    assert not live.of("/task") and not live.of("/tasklog") and not live.of("/jobs")
    ack = live.sio.call("/subscription", {"op": "subscribe", "type": "job", "uuid": "not-a-uuid"}, timeout=5)
    assert ack != "ok"
    del job


@pytest.fixture
def fast_manager(tmp_path):
    proc = ManagerProcess(tmp_path / "fast", extra_config=(
        "worker_timeout: 1s\ntask_timeout: 2s\ntimeout_check_interval: 200ms\nsleep_check_interval: 200ms\n")).start()
    yield proc
    proc.stop()


def test_silent_worker_goes_to_error_and_its_task_is_requeued(fast_manager):
    api = fast_manager.api()
    live = LiveClient(fast_manager.url)
    live.subscribe("allWorkers")
    job = submit(api, repeats=0)
    worker = ScriptedWorker(fast_manager.url, name="silent").start()
    task = worker.ask_task().json()
    # The worker now says nothing. After worker_timeout it is marked error.
    event = live.wait_for("/workers", lambda p: p["id"] == worker.uuid and p["status"] == "error", deadline_s=15)
    assert event["previous_status"] == "awake"
    assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "queued"
    assert api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()["status"] == "error"
    assert worker.ask_task().status_code == 409
    live.check_schemas()
    live.close()
    del job


def test_untouched_task_times_out(tmp_path):
    # The Worker's own timeout is long here: on a busy machine its keep-alive polls
    # could come late and make it the one that times out instead of the task.
    manager = ManagerProcess(tmp_path / "fast", extra_config=(
        "worker_timeout: 1m\ntask_timeout: 2s\ntimeout_check_interval: 200ms\n")).start()
    try:
        api = manager.api()
        submit(api, repeats=0)
        worker = ScriptedWorker(manager.url, name="busy").start()
        task = worker.ask_task().json()

        def failed():  # keep the worker alive (state polls) but never touch the task
            worker.api.get("/api/v3/worker/state")
            return api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "failed"

        wait_until(failed, deadline_s=40, interval_s=0.3, what="the task to time out")
        assert "timed out" in api.get(f"/api/v3/tasks/{task['uuid']}/logtail").text
    finally:
        manager.stop()


def test_sleep_schedule_puts_worker_to_sleep_and_wakes_it(fast_manager):
    api = fast_manager.api()
    worker = ScriptedWorker(fast_manager.url, name="sleeper").start()
    now = datetime.now()
    start = (now - timedelta(minutes=5)).strftime("%H:%M")
    end = (now + timedelta(minutes=5)).strftime("%H:%M")
    if start > end:  # around midnight; the schedule cannot wrap
        pytest.skip("too close to midnight for a same-day window")
    schedule = {"is_active": True, "days_of_week": "", "start_time": start, "end_time": end}
    resp = api.post(f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule", json=schedule)
    assert resp.status_code == 204, resp.text
    assert api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule").json() == schedule
    # The request reaches the worker as a 423 on its next task request.
    resp = worker.ask_task()
    assert resp.status_code == 423 and resp.json() == {"status_requested": "asleep"}
    worker.state_changed("asleep")
    assert api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()["status"] == "asleep"

    # Move the window into the past: the scheduler loop wakes the worker.
    past = {"is_active": True, "days_of_week": "", "start_time": "00:00", "end_time": start}
    assert api.post(f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule", json=past).status_code == 204
    state = wait_until(lambda: worker.api.get("/api/v3/worker/state").json()
                       if worker.api.get("/api/v3/worker/state").status_code == 200 else None,
                       deadline_s=10, what="a wake-up request")
    assert state == {"status_requested": "awake"}


def test_job_deletion_removes_rows_and_files(manager, api, live):
    live.subscribe("allJobs")
    job = submit(api, repeats=0)
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    worker.update(task["uuid"], log="some output", taskStatus="completed")
    job_dir = manager.storage / f"job-{job['id'][:4]}" / job["id"]
    assert job_dir.is_dir()
    assert api.get(f"/api/v3/jobs/{job['id']}/what-would-delete-do").json() == {"shaman_checkout": False}

    assert api.delete(f"/api/v3/jobs/{job['id']}").status_code == 204
    deleted = live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p.get("was_deleted"))
    assert deleted["was_deleted"] is True
    assert api.get(f"/api/v3/jobs/{job['id']}").status_code == 404
    assert not job_dir.exists()
    assert not job_dir.parent.exists()
    conn = sqlite3.connect(manager.db_path)
    assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0
    conn.close()


def test_mass_delete(manager, api):
    old = submit(api, name="old")
    resp = api.delete("/api/v3/jobs/mass-delete", json={"last_updated_max": "2000-01-01T00:00:00Z"})
    assert resp.status_code == 416
    cutoff = api.get(f"/api/v3/jobs/{old['id']}").json()["updated"]
    assert api.delete("/api/v3/jobs/mass-delete", json={"last_updated_max": cutoff}).status_code == 204
    wait_until(lambda: api.get("/api/v3/jobs").json()["jobs"] == [], what="the job deleter")
