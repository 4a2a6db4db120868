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


def test_jobs_can_be_paged_and_sorted(manager, api):
    ids = []
    for i, (name, priority) in enumerate([("b", 10), ("A", 90), ("c", 50), ("a2", 50), ("D", 70)]):
        ids.append(api.post("/api/v3/jobs", json={
            "name": name, "type": "echo-sleep-test", "priority": priority, "submitter_platform": "linux",
            "settings": {"message": str(i)}}).json()["id"])
    # Pausing one job makes it the most recently updated.
    assert api.post(f"/api/v3/jobs/{ids[1]}/setstatus", json={"status": "paused", "reason": "t"}).status_code == 204

    everything = api.get("/api/v3/jobs").json()["jobs"]
    assert [j["id"] for j in everything] == ids  # upstream: every job, creation order

    def page(query: str) -> list[str]:
        resp = api.get(f"/api/v3/jobs?{query}")
        assert resp.status_code == 200, resp.text
        return [j["id"] for j in resp.json()["jobs"]]

    assert page("limit=2") == ids[:2]
    assert page("limit=2&offset=2") == ids[2:4]
    assert page("offset=4") == ids[4:]
    assert page("sort=-created&limit=3") == ids[::-1][:3]
    assert page("sort=-updated&limit=1") == [ids[1]]
    assert page("sort=name") == [ids[1], ids[3], ids[0], ids[2], ids[4]]  # A a2 b c D: case ignored
    # Equal priorities keep creation order, in the sort's direction, so pages never overlap.
    assert page("sort=-priority") == [ids[1], ids[4], ids[3], ids[2], ids[0]]
    assert page("sort=priority") == [ids[0], ids[2], ids[3], ids[4], ids[1]]
    assert page("sort=-priority&limit=2&offset=2") == [ids[3], ids[2]]
    assert page("sort=status&limit=1") != []

    for bad in ("limit=0", "offset=-1", "sort=owner", "sort=", "limit=x"):
        resp = api.get(f"/api/v3/jobs?{bad}")
        assert resp.status_code == 400, bad
        assert resp.json()["message"]
