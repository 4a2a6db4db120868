"""Resubmitting from the web UI: the whole job again, or only the frames that did not render."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.webui_harness import browser, page  # noqa: F401  (fixtures)
from tests.e2e.webui_harness import require_built_webapp
from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until

SETTINGS = {"frames": "1-4", "chunk_size": 1, "render_output_root": "/render/out", "add_path_components": 0,
            "render_output_path": "/render/out/four/{timestamp}/######", "blendfile": "/render/four.blend",
            "fps": 24.0, "format": "PNG", "image_file_extension": ".png", "has_previews": False, "scene": "Scene"}


@pytest.fixture(scope="module")
def failed_job(tmp_path_factory) -> Iterator[tuple[ManagerProcess, dict]]:
    """A four-frame render whose only Worker rendered frame 1 and failed frame 2 (3 and 4 were canceled)."""
    require_built_webapp()
    manager = ManagerProcess(tmp_path_factory.mktemp("webui-resubmit") / "manager").start()
    api = manager.api()
    job = api.post("/api/v3/jobs", json={"name": "four", "type": "simple-blender-render", "priority": 60,
                                         "submitter_platform": "linux", "settings": SETTINGS,
                                         "metadata": {"project": "spring"}}).json()
    worker = ScriptedWorker(manager.url).start()
    first = worker.ask_task().json()
    assert worker.update(first["uuid"], taskStatus="completed").status_code == 204
    second = worker.ask_task().json()
    assert worker.update(second["uuid"], taskStatus="failed", activity="Blender crashed").status_code == 204
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "failed"
    try:
        yield manager, api.get(f"/api/v3/jobs/{job['id']}").json()
    finally:
        manager.stop()


def resubmit(page, manager, job: dict, mode: str) -> dict:
    """Resubmit through the UI; returns the new job as the API shows it."""
    api = manager.api()
    before = {j["id"] for j in api.get("/api/v3/jobs").json()["jobs"]}
    page.goto(f"{manager.url}/app/jobs/{job['id']}")
    page.locator(f'.job-details[data-job="{job["id"]}"] [data-action="job-resubmit"]').click()
    option = page.locator(f'input[name="resubmit-mode"][value="{mode}"]')
    wait_until(lambda: option.is_enabled(), what=f"the {mode} option")
    option.check()
    page.locator('[data-action="job-resubmit-confirm"]').click()
    new = wait_until(lambda: [j for j in api.get("/api/v3/jobs").json()["jobs"] if j["id"] not in before],
                     what="the new job")[0]
    page.wait_for_url(f"**/app/jobs/{new['id']}")
    return new


def task_names(manager, job_id: str) -> list[str]:
    return [t["name"] for t in manager.api().get(f"/api/v3/jobs/{job_id}/tasks").json()["tasks"]]


def test_only_the_frames_that_did_not_render(failed_job, page):
    manager, job = failed_job
    new = resubmit(page, manager, job, "unfinished")
    assert new["settings"]["frames"] == "2,3,4"
    assert task_names(manager, new["id"]) == ["render-2", "render-3", "render-4", "preview-video"]
    # Same settings otherwise: the frames go where the first job's went.
    assert new["settings"]["render_output_path"] == job["settings"]["render_output_path"]
    assert (new["type"], new["priority"]) == ("simple-blender-render", 60)
    assert new["metadata"] == {"project": "spring", "resubmitted_from": job["id"]}
    assert new["status"] == "queued"
    assert not page.errors, page.errors


def test_the_whole_job_again(failed_job, page):
    manager, job = failed_job
    new = resubmit(page, manager, job, "all")
    assert new["settings"]["frames"] == "1-4"
    assert task_names(manager, new["id"]) == ["render-1", "render-2", "render-3", "render-4", "preview-video"]
    assert new["name"] == "four (again)"
    assert not page.errors, page.errors
