"""The meta endpoints as clients (add-on, web UI) use them."""

from __future__ import annotations

from tests.integration.farm import ScriptedWorker


def test_version_and_configuration(manager, api):
    version = api.get("/api/v3/version").json()
    assert version["name"] == "Flamenco" and version["shortversion"]
    config = api.get("/api/v3/configuration").json()
    assert config["isFirstRun"] is False
    assert config["shamanEnabled"] is True
    assert config["storageLocation"] == str(manager.workdir / "shared" / "jobs")


def test_variables_per_audience_and_platform(manager, api):
    windows = api.get("/api/v3/configuration/variables/workers/windows").json()
    assert windows["blender"] == {"value": "blender.exe", "is_twoway": False}
    assert windows["blenderArgs"]["value"] == "-b -y"
    assert windows["jobs"]["value"] == str(manager.workdir / "shared" / "jobs")
    linux = api.get("/api/v3/configuration/variables/users/linux").json()
    assert linux["blender"]["value"] == "blender"


def test_shared_storage_location(manager, api):
    body = api.get("/api/v3/configuration/shared-storage/users/linux").json()
    assert body == {"location": str(manager.workdir / "shared" / "jobs"), "audience": "users",
                    "platform": "linux", "shamanEnabled": True}


def test_farm_status_follows_workers_and_jobs(manager, api):
    assert api.get("/api/v3/status").json() == {"status": "inoperative"}
    worker = ScriptedWorker(manager.url).start()
    assert api.get("/api/v3/status").json() == {"status": "idle"}
    api.post("/api/v3/jobs", json={"name": "j", "type": "echo-sleep-test", "priority": 50,
                                   "submitter_platform": "linux", "settings": {"message": "m"}})
    assert api.get("/api/v3/status").json() == {"status": "waiting"}
    worker.ask_task()
    assert api.get("/api/v3/status").json() == {"status": "active"}


def test_job_tasks_can_be_paged(manager, api):
    job = api.post("/api/v3/jobs", json={"name": "j", "type": "echo-sleep-test", "priority": 50,
                                         "submitter_platform": "linux",
                                         "settings": {"message": "m", "sleep_repeats": 9}}).json()
    everything = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]
    assert len(everything) == 10
    page = api.get(f"/api/v3/jobs/{job['id']}/tasks?limit=4&offset=3").json()["tasks"]
    assert [t["index_in_job"] for t in page] == [4, 5, 6, 7]
    assert page == everything[3:7]
    assert api.get(f"/api/v3/jobs/{job['id']}/tasks?limit=0").status_code == 400
    assert api.get(f"/api/v3/jobs/{job['id']}/tasks?offset=-1").status_code == 400
