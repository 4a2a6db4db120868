"""Worker management, tags, priorities and the blocklist over real HTTP."""

from __future__ import annotations

import pytest

from tests.integration.farm import ManagerProcess, ScriptedWorker
from tests.integration.live import LiveClient

NIL = "00000000-0000-4000-8000-000000000000"


def submit(api, **extra) -> dict:
    resp = api.post("/api/v3/jobs", json={"name": "j", "type": "echo-sleep-test", "priority": 50,
                                          "submitter_platform": "linux",
                                          "settings": {"message": "m", "sleep_repeats": 1}, **extra})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_list_fetch_and_delete_workers(manager, api):
    submit(api)
    worker = ScriptedWorker(manager.url, name="farm-01").start()
    task = worker.ask_task().json()
    listed = api.get("/api/v3/worker-mgt/workers").json()["workers"]
    assert [(w["id"], w["name"], w["status"]) for w in listed] == [(worker.uuid, "farm-01", "awake")]
    one = api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()
    assert one["task"]["id"] == task["uuid"] and one["task"]["job_id"] == task["job"]
    assert one["task"]["worker"] == {"id": worker.uuid, "name": "farm-01", "address": "127.0.0.1"}
    assert one["platform"] == "linux" and one["ip_address"] == "127.0.0.1"

    assert api.delete(f"/api/v3/worker-mgt/workers/{worker.uuid}").status_code == 204
    assert api.get("/api/v3/worker-mgt/workers").json()["workers"] == []
    assert api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").status_code == 404
    assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "queued"
    assert worker.ask_task().status_code == 403  # its credentials no longer work


def test_registered_worker_is_offline_until_it_signs_on(manager, api):
    """Upstream answers status "", which is no WorkerStatus; lists and events show offline."""
    live = LiveClient(manager.url)
    try:
        live.subscribe("allWorkers")
        worker = ScriptedWorker(manager.url, name="newcomer")
        registered = worker.register()
        assert registered["status"] == "offline" and registered["software"] == ""
        listed = api.get("/api/v3/worker-mgt/workers").json()["workers"]
        assert [(w["id"], w["status"]) for w in listed] == [(worker.uuid, "offline")]
        assert api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()["status"] == "offline"
        worker.sign_on()
        update = live.wait_for("/workers", lambda p: p["id"] == worker.uuid and p["status"] == "starting")
        assert update["previous_status"] == "offline"
        live.check_schemas()
    finally:
        live.close()


def test_worker_secret_longer_than_bcrypt_takes_is_refused(manager, api):
    body = {"secret": "é" * 37, "platform": "linux", "name": "long", "supported_task_types": ["misc"]}  # 74 bytes
    resp = api.post("/api/v3/worker/register-worker", json=body)
    assert resp.status_code == 400 and resp.json() == {
        "code": 400, "message": "a worker secret may be at most 72 bytes long"}
    worker = ScriptedWorker(manager.url, name="fits").start()
    worker.api.auth = (worker.uuid, "x" * 100)
    assert worker.ask_task().status_code == 403


@pytest.mark.parametrize("lazy", [True, False])
def test_status_requests_lazy_and_immediate(manager, api, lazy):
    submit(api)
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    resp = api.post(f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
                    json={"status": "asleep", "is_lazy": lazy})
    assert resp.status_code == 204
    summary = api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()
    assert summary["status_change"] == {"status": "asleep", "is_lazy": lazy}
    may = worker.may_i_run(task["uuid"])
    assert may["mayKeepRunning"] is lazy
    assert may["statusChangeRequested"] is (not lazy)
    assert worker.ask_task().status_code == 423


def test_restart_needs_a_restartable_worker(manager, api):
    worker = ScriptedWorker(manager.url).start()
    resp = api.post(f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
                    json={"status": "restart", "is_lazy": True})
    assert resp.status_code == 412
    assert api.post(f"/api/v3/worker-mgt/workers/{NIL}/setstatus",
                    json={"status": "asleep", "is_lazy": True}).status_code == 404


def test_tags_crud_and_job_routing(manager, api):
    live = LiveClient(manager.url)
    live.subscribe("allWorkerTags")
    created = api.post("/api/v3/worker-mgt/tags", json={"name": "gpu", "description": "cards"}).json()
    assert created["name"] == "gpu"
    live.wait_for("/workertags", lambda p: p["tag"]["id"] == created["id"])
    assert api.post("/api/v3/worker-mgt/tags", json={"name": "gpu"}).status_code == 409
    assert api.put(f"/api/v3/worker-mgt/tag/{created['id']}", json={"name": "gpus"}).status_code == 204
    assert api.get(f"/api/v3/worker-mgt/tag/{created['id']}").json() == {
        "id": created["id"], "name": "gpus", "description": "cards"}
    tags = api.get("/api/v3/worker-mgt/tags").json()["tags"]
    assert [t["id"] for t in tags] == [created["id"]]

    job = submit(api, worker_tag=created["id"])
    plain = ScriptedWorker(manager.url, name="plain").start()
    tagged = ScriptedWorker(manager.url, name="tagged").start()
    assert api.post(f"/api/v3/worker-mgt/workers/{tagged.uuid}/settags",
                    json={"tag_ids": [created["id"]]}).status_code == 204
    assert plain.ask_task().status_code == 204
    assert tagged.ask_task().json()["job"] == job["id"]
    fetched = api.get(f"/api/v3/worker-mgt/workers/{tagged.uuid}").json()
    assert [t["id"] for t in fetched["tags"]] == [created["id"]]

    assert api.delete(f"/api/v3/worker-mgt/tag/{created['id']}").status_code == 204
    gone = live.wait_for("/workertags", lambda p: p.get("was_deleted"))
    assert gone["tag"]["id"] == created["id"]
    assert "worker_tag" not in api.get(f"/api/v3/jobs/{job['id']}").json()
    live.check_schemas()
    live.close()


def test_priority_and_tag_of_a_job(manager, api):
    job = submit(api)
    assert api.post(f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 90}).status_code == 204
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["priority"] == 90
    assert api.post(f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 900}).status_code == 400
    assert api.post(f"/api/v3/jobs/{job['id']}/settag", json={"name": "nope"}).status_code == 406
    tag = api.post("/api/v3/worker-mgt/tags", json={"name": "cpu"}).json()
    assert api.post(f"/api/v3/jobs/{job['id']}/settag", json={"name": "cpu"}).status_code == 204
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["worker_tag"] == tag["id"]
    assert api.post(f"/api/v3/jobs/{job['id']}/settag", json={}).status_code == 204
    assert "worker_tag" not in api.get(f"/api/v3/jobs/{job['id']}").json()


@pytest.fixture
def strict_manager(tmp_path):
    proc = ManagerProcess(tmp_path / "strict", extra_config="blocklist_threshold: 1\n").start()
    yield proc
    proc.stop()


def test_blocklist_get_and_remove(strict_manager):
    api = strict_manager.api()
    job = submit(api)
    flaky = ScriptedWorker(strict_manager.url, name="flaky").start()
    ScriptedWorker(strict_manager.url, name="other").start()
    task = flaky.ask_task().json()
    flaky.update(task["uuid"], taskStatus="failed")
    blocklist = api.get(f"/api/v3/jobs/{job['id']}/blocklist").json()
    assert blocklist == [{"worker_id": flaky.uuid, "worker_name": "flaky", "task_type": "misc"}]
    assert api.get(f"/api/v3/jobs/{NIL}/blocklist").json() == []
    assert api.delete(f"/api/v3/jobs/{job['id']}/blocklist", json=[]).status_code == 400
    assert api.delete(f"/api/v3/jobs/{job['id']}/blocklist",
                      json=[{"worker_id": flaky.uuid, "task_type": "misc"}]).status_code == 204
    assert api.get(f"/api/v3/jobs/{job['id']}/blocklist").json() == []
