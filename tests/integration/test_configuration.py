"""Configuration API over real HTTP: settings file, checks, and the first-run setup assistant (issue 3, item 6)."""

from __future__ import annotations

import shutil

import pytest

from flamenco_pkg.manager.config import load_config
from tests.integration.farm import ManagerProcess

SECRET = "hunter2-mqtt-secret"
REAL_BLENDER = shutil.which("blender")


@pytest.fixture
def configured(tmp_path):
    proc = ManagerProcess(tmp_path / "manager", extra_config=(
        "mqtt:\n  client:\n    broker: tcp://localhost:1883\n"
        f"    username: farm\n    password: {SECRET}\n")).start()
    try:
        yield proc
    finally:
        proc.stop()


def put_config(api, body):
    return api.call("PUT", "/api/v3/configuration/file", json=body)


def test_settings_file_round_trip_applies_in_place(configured):
    api = configured.api()
    config_file = configured.workdir / "flamenco-manager.yaml"
    doc = api.get("/api/v3/configuration/file").json()
    assert doc["_meta"] == {"version": 3}
    assert doc["shared_storage_path"] == str(configured.workdir / "shared")
    assert doc["task_timeout"] == "10m" and doc["mqtt"]["client"]["username"] == "farm"
    assert doc["mqtt"]["client"]["password"] == "********"

    doc["manager_name"] = "Render Shed"
    doc["variables"]["renders"] = {"is_twoway": True, "values": [
        {"platform": "linux", "value": "/srv/renders"}, {"platform": "windows", "value": "R:\\"}]}
    assert put_config(api, doc).status_code == 204

    # Applied without a restart: the name and the variables are live...
    assert api.get("/api/v3/version").json()["name"] == "Render Shed"
    windows = api.get("/api/v3/configuration/variables/workers/windows").json()
    assert windows["renders"] == {"value": "R:", "is_twoway": True}
    # ...saved to the file, and the masked password kept its stored value.
    saved = load_config(config_file)
    assert saved.manager_name == "Render Shed" and saved.mqtt.client.password == SECRET
    assert api.get("/api/v3/configuration/file").json()["mqtt"]["client"]["password"] == "********"
    assert SECRET not in configured.log_text()


BAD_SETTINGS = [
    ({"task_timeout": "soon"}, "task_timeout"),
    ({"listen": "nowhere"}, "listen"),
    ({"blocklist_threshold": -1}, "blocklist_threshold"),
    ({"_meta": {"version": 2}}, "_meta.version"),
    ({"shared_storage_path": "/srv/../etc"}, "shared_storage_path"),
    ({"local_manager_storage_path": "%2e%2e/%2e%2e/x"}, "local_manager_storage_path"),
    ({"database": "../../elsewhere.sqlite"}, "database"),
    ({"variables": {"blender": {"values": [{"platform": "linux", "audience": "robots", "value": "b"}]}}},
     "variables.blender.values[0].audience"),
]


def test_bad_settings_are_refused_and_nothing_changes(manager, api):
    config_file = manager.workdir / "flamenco-manager.yaml"
    before = config_file.read_bytes()
    doc = api.get("/api/v3/configuration/file").json()
    for change, field in BAD_SETTINGS:
        resp = put_config(api, {**doc, **change})
        assert resp.status_code == 400 and field in resp.json()["message"], (change, resp.text)
    assert put_config(api, [1, 2]).status_code == 400  # not even an object
    assert config_file.read_bytes() == before
    assert api.get("/api/v3/configuration/file").json() == doc


def test_shared_storage_check(manager, api):
    good = manager.workdir / "farm-storage"
    good.mkdir()
    (manager.workdir / "a-file").write_text("x")

    def check(path):
        resp = api.post("/api/v3/configuration/check/shared-storage", json={"path": path})
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert check(str(good)) == {"path": str(good), "is_usable": True,
                                "cause": "this folder can be used as shared storage"}
    assert not list(good.iterdir())  # the write probe cleaned up after itself
    for path, cause in [("", "empty"), (str(manager.workdir / "nope"), "does not exist"),
                        (str(manager.workdir / "a-file"), "is a file"), ("farm-storage", "absolute"),
                        (str(manager.workdir), "configuration folder"),
                        (str(manager.storage), "local storage folder")]:
        result = check(path)
        assert result["is_usable"] is False and cause in result["cause"], (path, result)
    for path in [f"{good}/../farm-storage", f"{good}/%2e%2e/farm-storage", "..", f"{good}/..%2F.."]:
        resp = api.post("/api/v3/configuration/check/shared-storage", json={"path": path})
        assert resp.status_code == 400 and "'..'" in resp.json()["message"], path
    assert api.post("/api/v3/configuration/check/shared-storage", json={}).status_code == 400


@pytest.mark.skipif(REAL_BLENDER is None, reason="blender is not installed")
def test_find_and_check_blender(manager, api):
    found = api.get("/api/v3/configuration/check/blender").json()
    assert {"input": "blender", "path": REAL_BLENDER, "source": "path_envvar"}.items() <= found[0].items()
    assert found[0]["is_usable"] and found[0]["cause"].startswith("Blender ")

    checked = api.post("/api/v3/configuration/check/blender", json={"path": REAL_BLENDER}).json()
    assert checked["is_usable"] and checked["cause"] == "Found " + found[0]["cause"]
    assert checked["source"] == "input_path"
    not_blender = api.post("/api/v3/configuration/check/blender", json={"path": "/bin/sh"}).json()
    assert not_blender["is_usable"] is False
    for path in ["/usr/bin/../bin/blender", "/usr/%2e%2e/bin/blender", "bin/blender"]:
        resp = api.post("/api/v3/configuration/check/blender", json={"path": path})
        assert resp.status_code == 400, path


@pytest.mark.skipif(REAL_BLENDER is None, reason="blender is not installed")
def test_first_run_setup_assistant_applies_without_restart(tmp_path):
    first = ManagerProcess(tmp_path / "first")
    first.workdir.mkdir(parents=True)
    config_file = first.workdir / "flamenco-manager.yaml"
    # No shared storage configured: what a Manager without a config file has too.
    config_file.write_text(f"listen: '127.0.0.1:{first.port}'\n"
                           f"local_manager_storage_path: {first.storage}\n")
    first.start()
    try:
        api = first.api()
        assert api.get("/api/v3/configuration").json()["isFirstRun"] is True
        storage = tmp_path / "shared"
        storage.mkdir()
        blender = api.post("/api/v3/configuration/check/blender", json={"path": REAL_BLENDER}).json()
        before = config_file.read_bytes()

        for bad in [{"storageLocation": str(tmp_path / "missing"), "blenderExecutable": blender},
                    {"storageLocation": f"{storage}/../shared", "blenderExecutable": blender},
                    {"storageLocation": str(storage), "blenderExecutable": {**blender, "is_usable": False}}]:
            resp = api.post("/api/v3/configuration/setup-assistant", json=bad)
            assert resp.status_code == 400, resp.text
            assert config_file.read_bytes() == before
        assert api.get("/api/v3/configuration").json()["isFirstRun"] is True

        resp = api.post("/api/v3/configuration/setup-assistant",
                        json={"storageLocation": str(storage), "blenderExecutable": blender})
        assert resp.status_code == 204, resp.text
        assert api.get("/api/v3/configuration").json() == {
            "storageLocation": str(storage / "jobs"), "shamanEnabled": True, "isFirstRun": False}
        linux = api.get("/api/v3/configuration/variables/workers/linux").json()
        assert linux["blender"]["value"] == REAL_BLENDER and linux["blenderArgs"]["value"] == "-b -y"
        windows = api.get("/api/v3/configuration/variables/workers/windows").json()
        assert windows["blender"]["value"] == "blender.exe"
        saved = load_config(config_file)
        assert saved.shared_storage_path == str(storage)
        assert saved.listen == f"127.0.0.1:{first.port}"  # the rest of the file survives
    finally:
        first.stop()
