"""The full life of a job over real HTTP: submit, hand out, report, complete."""

from __future__ import annotations

from tests.integration.farm import Api, ScriptedWorker


def submit_echo(api: Api, **settings) -> dict:
    body = {"name": "echo test", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "hello farm", "sleep_duration_seconds": 1, "sleep_repeats": 2, **settings}}
    resp = api.post("/api/v3/jobs", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def run_task(worker: ScriptedWorker, task: dict, log: str) -> None:
    assert worker.update(task["uuid"], taskStatus="active", activity="Started").status_code == 204
    assert worker.update(task["uuid"], log=log, steps_completed=1, activity="Progress").status_code == 204
    assert worker.update(task["uuid"], taskStatus="completed", activity="Finished").status_code == 204


def test_echo_sleep_job_runs_to_completion(manager, api):
    types = api.get("/api/v3/jobs/types").json()["job_types"]
    etag = next(t["etag"] for t in types if t["name"] == "echo-sleep-test")
    resp = api.post("/api/v3/jobs", json={
        "name": "echo test", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "type_etag": etag, "settings": {"message": "hello farm", "sleep_duration_seconds": 1, "sleep_repeats": 2}})
    assert resp.status_code == 200, resp.text
    job = resp.json()
    assert job["status"] == "queued"
    assert job["steps_total"] == 3

    tasks = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]
    assert [t["name"] for t in tasks] == ["echo", "sleep", "sleep"]
    assert all(t["status"] == "queued" for t in tasks)

    worker = ScriptedWorker(manager.url, name="render-01")
    worker.register()
    assert worker.sign_on() == "awake"
    # Signed on but not yet awake: no tasks (409), as upstream.
    assert worker.ask_task().status_code == 409
    worker.state_changed("awake")

    first = worker.ask_task()
    assert first.status_code == 200, first.text
    echo = first.json()
    assert echo["name"] == "echo" and echo["job"] == job["id"] and echo["status"] == "active"
    assert echo["commands"] == [{"name": "echo", "parameters": {"message": "hello farm"}, "total_step_count": 0}]
    # Asking again while it runs hands out the same task, not a sleep that depends on it.
    assert worker.ask_task().json()["uuid"] == echo["uuid"]
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "active"
    assert worker.may_i_run(echo["uuid"])["mayKeepRunning"] is True

    run_task(worker, echo, "echo: hello farm")
    log_tail = api.get(f"/api/v3/tasks/{echo['uuid']}/logtail")
    assert log_tail.status_code == 200
    assert "echo: hello farm" in log_tail.text
    assert "task assigned to worker render-01" in log_tail.text
    assert "task changed status active -> completed" in log_tail.text

    seen = set()
    for _ in range(2):
        resp = worker.ask_task()
        assert resp.status_code == 200, resp.text
        task = resp.json()
        assert task["name"] == "sleep"
        assert task["commands"][0]["parameters"] == {"duration_in_seconds": 1}
        seen.add(task["uuid"])
        run_task(worker, task, "slept")
    assert len(seen) == 2
    assert worker.ask_task().status_code == 204

    done = api.get(f"/api/v3/jobs/{job['id']}").json()
    assert done["status"] == "completed"
    assert done["steps_completed"] == done["steps_total"] == 3
    task = api.get(f"/api/v3/tasks/{echo['uuid']}").json()
    assert task["status"] == "completed"
    assert task["worker"]["id"] == worker.uuid and task["worker"]["name"] == "render-01"
    info = api.get(f"/api/v3/tasks/{echo['uuid']}/log").json()
    assert info["url"] == f"/job-files/job-{job['id'][:4]}/{job['id']}/task-{echo['uuid']}.txt"
    assert info["size"] > 0
    assert (manager.storage / info["url"].removeprefix("/job-files/")).exists()
    worker.sign_off()


def test_failed_task_soft_fails_then_other_worker_finishes(manager, api):
    job = submit_echo(api, sleep_repeats=0)
    w1 = ScriptedWorker(manager.url, name="w1").start()
    w2 = ScriptedWorker(manager.url, name="w2").start()
    task = w1.ask_task().json()
    assert w1.update(task["uuid"], taskStatus="failed", activity="blender crashed",
                     log="segfault").status_code == 204
    after = api.get(f"/api/v3/tasks/{task['uuid']}").json()
    assert after["status"] == "soft-failed"
    assert [w["id"] for w in after["failed_by_workers"]] == [w1.uuid]
    # The worker that failed it does not get it again; the other one does.
    assert w1.ask_task().status_code == 204
    again = w2.ask_task().json()
    assert again["uuid"] == task["uuid"]
    run_task(w2, again, "fine now")
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "completed"


def test_late_update_for_requeued_task_is_refused(manager, api):
    submit_echo(api, sleep_repeats=0)
    w1 = ScriptedWorker(manager.url, name="w1").start()
    task = w1.ask_task().json()
    w1.sign_off()  # returns the task to the queue
    assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "queued"
    late = w1.update(task["uuid"], taskStatus="completed")
    assert late.status_code == 409
    assert late.json()["code"] == 409
    assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "queued"


def test_chunked_request_body_is_accepted(manager, api):
    import json as jsonlib

    body = jsonlib.dumps({"name": "chunky", "type": "echo-sleep-test", "priority": 50,
                          "submitter_platform": "linux", "settings": {"message": "hi"}}).encode()
    pieces = (body[i:i + 7] for i in range(0, len(body), 7))  # a generator: requests sends it chunked
    resp = api.session.post(manager.url + "/api/v3/jobs", data=pieces,
                            headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "chunky"


def test_run_times_over_http(manager, api):
    """started_at/finished_at (optional additions) on tasks and the Worker's current task; a requeue clears them."""
    job = submit_echo(api, sleep_repeats=0)
    worker = ScriptedWorker(manager.url, name="timed").start()
    task = worker.ask_task().json()
    running = api.get(f"/api/v3/tasks/{task['uuid']}").json()
    assert "started_at" in running and "finished_at" not in running
    current = api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()["task"]
    assert current["id"] == task["uuid"] and current["started_at"] == running["started_at"]

    run_task(worker, task, "done")
    summary = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"][0]
    assert summary["started_at"] == running["started_at"]
    assert summary["finished_at"] >= summary["started_at"]

    assert api.post(f"/api/v3/jobs/{job['id']}/setstatus",
                    json={"status": "requeueing", "reason": "again"}).status_code == 204
    again = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"][0]
    assert again["status"] == "queued"
    assert "started_at" not in again and "finished_at" not in again
