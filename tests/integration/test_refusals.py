"""Bad input that used to break the Manager is refused with a 4xx or a clear start-up error (issue 12)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.farm import REPO, ManagerProcess


def test_empty_body_is_a_400(api):
    for path in ["/api/v3/configuration/check/shared-storage", "/api/v3/configuration/check/blender",
                 "/api/v3/configuration/setup-assistant"]:
        for headers in [{}, {"Content-Type": "application/json"}]:
            resp = api.post(path, data=b"", headers=headers)
            assert resp.status_code == 400, (path, headers, resp.text)
            assert resp.json() == {"code": 400, "message": resp.json()["message"]}
            assert resp.json()["message"].startswith("request body is missing: send a JSON object like {"), resp.text


BREAKING_SETTINGS = [
    ({"worker_timeout": "0s"}, "worker_timeout"),
    ({"task_timeout": "0s"}, "task_timeout"),
    ({"timeout_check_interval": "0s"}, "timeout_check_interval"),
    ({"sleep_check_interval": "0s"}, "sleep_check_interval"),
    ({"blocklist_threshold": 0}, "blocklist_threshold"),
    ({"task_fail_after_softfail_count": 0}, "task_fail_after_softfail_count"),
    ({"trusted_proxies": ["not an address"]}, "trusted_proxies[0]"),
]


def test_settings_that_break_the_farm_are_refused(manager, api):
    config_file = manager.workdir / "flamenco-manager.yaml"
    before = config_file.read_bytes()
    doc = api.get("/api/v3/configuration/file").json()
    for change, key in BREAKING_SETTINGS:
        resp = api.put("/api/v3/configuration/file", json={**doc, **change})
        assert resp.status_code == 400, resp.text
        assert resp.json()["message"].startswith(f"configuration: {key}: "), resp.text
    assert config_file.read_bytes() == before
    assert api.get("/api/v3/configuration/file").json() == doc


@pytest.mark.parametrize("line, key", [
    ("worker_timeout: 0\n", "worker_timeout"),
    ("blocklist_threshold: 0\n", "blocklist_threshold"),
    ("shaman:\n  garbageCollect:\n    maxAge: 0s\n", "shaman.garbageCollect.maxAge"),
])
def test_bad_value_stops_the_manager_at_start(tmp_path, line, key):
    proc = ManagerProcess(tmp_path / "m", extra_config=line)
    proc.workdir.mkdir(parents=True)
    proc.write_config()
    result = subprocess.run([sys.executable, str(REPO / "flamenco.py"), "manager"], cwd=proc.workdir,
                            capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 1
    assert f"flamenco-manager.yaml: {key}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (proc.workdir / "flamenco-manager.sqlite").exists()  # stopped before opening anything


def submit(api, checkout_id: str):
    return api.post("/api/v3/jobs", json={
        "name": "checkout", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "m", "sleep_repeats": 0}, "storage": {"shaman_checkout_id": checkout_id}})


def test_shaman_checkout_id_is_checked_at_submission(api):
    for bad in ["../x", "a/../../etc", "/abs/path", "a//b", "./a", "a\\b", "c:x", "."]:
        resp = submit(api, bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["message"].startswith("storage.shaman_checkout_id "), resp.text
    assert api.get("/api/v3/jobs").json()["jobs"] == []  # nothing stored
    ok = submit(api, "project/scene-1")
    assert ok.status_code == 200, ok.text
    assert ok.json()["storage"] == {"shaman_checkout_id": "project/scene-1"}
    assert submit(api, "").status_code == 200  # no Shaman checkout
