"""The user guide's `jobs/check` example works against a Manager with the example job type installed."""

from __future__ import annotations

import json
import re
import shutil

from tests.integration.farm import REPO, ManagerProcess

GUIDE = REPO / "docs" / "user-guide" / "job-types.md"
EXAMPLE = REPO / "examples" / "job-types" / "multi_camera_render.js"


def guide_check_body() -> dict:
    """The JSON the guide's curl command sends."""
    match = re.search(r"api/v3/jobs/check .*?-d '(\{.*?\})'", GUIDE.read_text(encoding="utf-8"), re.S)
    assert match, "the guide shows a jobs/check example"
    return json.loads(match.group(1))


def test_guide_check_example_compiles_and_a_mistake_is_a_400(tmp_path):
    manager = ManagerProcess(tmp_path / "manager")
    manager.scripts.mkdir(parents=True)
    shutil.copy(EXAMPLE, manager.scripts)
    manager.start()
    try:
        api = manager.api()
        names = [t["name"] for t in api.get("/api/v3/jobs/types").json()["job_types"]]
        assert "multi-camera-render" in names

        body = guide_check_body()
        assert api.post("/api/v3/jobs/check", json=body).status_code == 204

        body["settings"]["cameras"] = "Front, Front"
        resp = api.post("/api/v3/jobs/check", json=body)
        assert resp.status_code == 400
        assert 'camera "Front" is listed twice' in resp.json()["message"]
        assert api.get("/api/v3/jobs").json()["jobs"] == []  # checks store nothing
    finally:
        manager.stop()
