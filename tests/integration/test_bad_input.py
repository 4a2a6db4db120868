"""Every endpoint refuses bad input with a 4xx and a message, and stores nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.integration.farm import ScriptedWorker

NIL = "00000000-0000-4000-8000-000000000000"
GOOD_JOB = {"name": "ok", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "hi"}}


def snapshot(db_path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, less the columns that mere contact updates."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {}
        for table in tables:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "last_seen_at"]
            out[table] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall(), key=repr)
        return out
    finally:
        conn.close()


# The file shares one Manager; no timeout may fail the farm's task between a snapshot and the next.
MANAGER_CONFIG = "timeout_check_interval: 1h\n"


@pytest.fixture(scope="module")
def manager(module_manager):
    """One Manager for this file: every request here is refused and must leave the database as it was."""
    return module_manager


@pytest.fixture(scope="module")
def farm(manager):
    """A Manager with one job and one awake worker holding a task."""
    api = manager.api()
    job = api.post("/api/v3/jobs", json={**GOOD_JOB, "settings": {"message": "hi", "sleep_repeats": 1}}).json()
    worker = ScriptedWorker(manager.url, name="holder").start()
    task = worker.ask_task().json()
    return {"job": job, "worker": worker, "task": task}


def expect_refused(manager, call, status: int, message_part: str = "") -> None:
    before = snapshot(manager.db_path)
    resp = call()
    assert resp.status_code == status, f"{resp.status_code} {resp.text}"
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        body = resp.json()
        assert isinstance(body.get("message"), str) and body["message"], body
        assert message_part.lower() in body["message"].lower(), body
        assert "Traceback" not in body["message"]
    assert snapshot(manager.db_path) == before, "a refused request changed the database"


JOB_CASES = [
    ({k: v for k, v in GOOD_JOB.items() if k != "name"}, 400, "name"),
    ({**GOOD_JOB, "priority": 101}, 400, "priority"),
    ({**GOOD_JOB, "priority": "high"}, 400, "priority"),
    ({**GOOD_JOB, "type": "no-such-type"}, 400, "job type unknown"),
    ({**GOOD_JOB, "metadata": {"project": 5}}, 400, "metadata"),
    ({**GOOD_JOB, "type_etag": "0" * 40}, 412, "refresh the job type"),
    ({**GOOD_JOB, "worker_tag": NIL}, 400, "worker tag"),
    ({**GOOD_JOB, "initial_status": "active"}, 400, "initial_status"),
    ({**GOOD_JOB, "type": "simple-blender-render", "settings": {"format": "FFMPEG"}}, 400, "only renders images"),
]


@pytest.mark.parametrize("body,status,message", JOB_CASES)
@pytest.mark.parametrize("path", ["/api/v3/jobs", "/api/v3/jobs/check"])
def test_bad_job_submissions(manager, api, farm, path, body, status, message):
    expect_refused(manager, lambda: api.post(path, json=body), status, message)


def test_malformed_json_and_wrong_content_type(manager, api, farm):
    expect_refused(manager, lambda: api.post("/api/v3/jobs", data=b"{not json",
                                             headers={"Content-Type": "application/json"}), 400)
    expect_refused(manager, lambda: api.post("/api/v3/jobs", data=b"name=x",
                                             headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)


READ_CASES = [
    ("POST", "/api/v3/version", 405),
    ("DELETE", "/api/v3/configuration", 405),
    ("GET", "/api/v3/configuration/variables/martians/linux", 400),
    ("GET", "/api/v3/configuration/shared-storage/martians/linux", 400),
    ("POST", "/api/v3/status", 405),
    ("POST", "/api/v3/jobs/types", 405),
    ("GET", "/api/v3/jobs/type/no-such-type", 404),
    ("PUT", "/api/v3/jobs", 405),
    ("GET", "/api/v3/jobs/not-a-uuid", 400),
    ("GET", f"/api/v3/jobs/{NIL}", 404),
    ("GET", "/api/v3/jobs/not-a-uuid/tasks", 400),
    ("GET", "/api/v3/tasks/not-a-uuid", 400),
    ("GET", f"/api/v3/tasks/{NIL}", 404),
    ("GET", "/api/v3/tasks/not-a-uuid/log", 400),
    ("GET", f"/api/v3/tasks/{NIL}/log", 404),
    ("GET", "/api/v3/tasks/not-a-uuid/logtail", 400),
    ("GET", f"/api/v3/tasks/{NIL}/logtail", 404),
    ("GET", "/api/v3/no-such-endpoint", 404),
]


@pytest.mark.parametrize("method,path,status", READ_CASES)
def test_bad_reads(manager, api, farm, method, path, status):
    expect_refused(manager, lambda: api.call(method, path), status)


def test_worker_endpoints_refuse_bad_input(manager, api, farm):
    worker: ScriptedWorker = farm["worker"]
    task_id = farm["task"]["uuid"]
    anon = manager.api()
    wrong = manager.api()
    wrong.auth = (worker.uuid, "not-the-secret")

    expect_refused(manager, lambda: anon.post("/api/v3/worker/register-worker", json={
        "platform": "linux", "name": "x", "supported_task_types": ["misc"]}), 400, "secret")
    expect_refused(manager, lambda: anon.post("/api/v3/worker/register-worker", json={
        "secret": "s", "platform": "linux", "name": "x", "supported_task_types": "misc"}), 400)
    sign_on = {"name": "x", "supported_task_types": ["misc"], "software_version": "1"}
    expect_refused(manager, lambda: anon.post("/api/v3/worker/sign-on", json=sign_on), 403)
    expect_refused(manager, lambda: wrong.post("/api/v3/worker/sign-on", json=sign_on), 403)
    expect_refused(manager, lambda: worker.api.post("/api/v3/worker/sign-on", json={"name": "x"}), 400)
    expect_refused(manager, lambda: wrong.post("/api/v3/worker/sign-off"), 403)
    expect_refused(manager, lambda: anon.get("/api/v3/worker/state"), 403)
    expect_refused(manager, lambda: worker.api.post("/api/v3/worker/state-changed", json={"status": "dancing"}), 400)
    expect_refused(manager, lambda: wrong.post("/api/v3/worker/task"), 403)
    expect_refused(manager, lambda: worker.update(task_id, taskStatus="soft-failed"), 400, "soft-failed")
    expect_refused(manager, lambda: worker.update(task_id, steps_completed="many"), 400)
    expect_refused(manager, lambda: worker.update(NIL, taskStatus="completed"), 404)
    expect_refused(manager, lambda: worker.api.post("/api/v3/worker/task/not-a-uuid", json={}), 400)
    expect_refused(manager, lambda: worker.api.get("/api/v3/worker/task/not-a-uuid/may-i-run"), 400)

    other = ScriptedWorker(manager.url, name="other").start()
    expect_refused(manager, lambda: other.update(task_id, taskStatus="completed", log="not mine"), 409)


def control_cases(job_id: str, worker_id: str) -> list[tuple[str, str, object, int]]:
    return [
        ("POST", f"/api/v3/jobs/{job_id}/setstatus", {"status": "exploded", "reason": "x"}, 400),
        ("POST", f"/api/v3/jobs/{job_id}/setstatus", {"reason": "no status"}, 400),
        ("POST", f"/api/v3/jobs/{NIL}/setstatus", {"status": "canceled", "reason": "x"}, 404),
        ("POST", f"/api/v3/jobs/{job_id}/setpriority", {"priority": -1}, 400),
        ("POST", f"/api/v3/jobs/{NIL}/setpriority", {"priority": 10}, 404),
        ("POST", f"/api/v3/jobs/{job_id}/settag", {"id": NIL}, 406),
        ("GET", "/api/v3/jobs/not-a-uuid/blocklist", None, 400),
        ("DELETE", f"/api/v3/jobs/{job_id}/blocklist", [], 400),
        ("DELETE", f"/api/v3/jobs/{job_id}/blocklist", [{"worker_id": worker_id}], 400),
        ("DELETE", f"/api/v3/jobs/{NIL}", None, 404),
        ("DELETE", "/api/v3/jobs/not-a-uuid", None, 400),
        ("GET", f"/api/v3/jobs/{NIL}/what-would-delete-do", None, 404),
        ("DELETE", "/api/v3/jobs/mass-delete", {}, 400),
        ("DELETE", "/api/v3/jobs/mass-delete", {"last_updated_max": "yesterday"}, 400),
        ("DELETE", "/api/v3/jobs/mass-delete", {"last_updated_max": "1999-01-01T00:00:00Z"}, 416),
        ("POST", f"/api/v3/tasks/{NIL}/setstatus", {"status": "queued", "reason": "x"}, 404),
        ("GET", "/api/v3/worker-mgt/workers/not-a-uuid", None, 400),
        ("GET", f"/api/v3/worker-mgt/workers/{NIL}", None, 404),
        ("DELETE", f"/api/v3/worker-mgt/workers/{NIL}", None, 404),
        ("POST", f"/api/v3/worker-mgt/workers/{worker_id}/setstatus", {"status": "flying", "is_lazy": True}, 400),
        ("POST", f"/api/v3/worker-mgt/workers/{worker_id}/setstatus", {"status": "restart", "is_lazy": True}, 412),
        ("POST", f"/api/v3/worker-mgt/workers/{worker_id}/settags", {"tag_ids": "gpu"}, 400),
        ("POST", f"/api/v3/worker-mgt/workers/{NIL}/settags", {"tag_ids": []}, 404),
        ("POST", f"/api/v3/worker-mgt/workers/{worker_id}/sleep-schedule",
         {"is_active": True, "days_of_week": "", "start_time": "25:99", "end_time": ""}, 400),
        ("POST", f"/api/v3/worker-mgt/workers/{NIL}/sleep-schedule",
         {"is_active": True, "days_of_week": "", "start_time": "", "end_time": ""}, 404),
        ("GET", "/api/v3/worker-mgt/workers/not-a-uuid/sleep-schedule", None, 400),
        ("POST", "/api/v3/worker-mgt/tags", {"description": "no name"}, 400),
        ("POST", "/api/v3/worker-mgt/tags", {"name": "   "}, 400),
        ("GET", f"/api/v3/worker-mgt/tag/{NIL}", None, 404),
        ("PUT", f"/api/v3/worker-mgt/tag/{NIL}", {"name": "x"}, 404),
        ("DELETE", f"/api/v3/worker-mgt/tag/{NIL}", None, 404),
        ("DELETE", "/api/v3/worker-mgt/tag/not-a-uuid", None, 400),
    ]


def test_control_endpoints_refuse_bad_input(manager, api, farm):
    for method, path, body, status in control_cases(farm["job"]["id"], farm["worker"].uuid):
        expect_refused(manager, lambda: api.call(method, path, json=body), status)
