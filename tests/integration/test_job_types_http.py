"""Custom job types over HTTP: picked up without restart, runaway scripts stopped."""

from __future__ import annotations

import time

from tests.integration.farm import ScriptedWorker

CUSTOM = """
const JOB_TYPE = {
    label: "Say Things",
    settings: [{ key: "words", type: "string", required: true }],
};
function compileJob(job) {
    const task = author.Task("say", "misc");
    task.addCommand(author.Command("echo", { message: job.settings.words + " on " + process.platform }));
    job.addTask(task);
}
"""

RUNAWAY = """
const JOB_TYPE = { label: "Runaway", settings: [] };
function compileJob(job) { while (true) {} }
"""

HOG = """
const JOB_TYPE = { label: "Hog", settings: [] };
function compileJob(job) { const a = []; while (true) { a.push(new Array(1000000).fill(7)); } }
"""


def names(api) -> list[str]:
    return [t["name"] for t in api.get("/api/v3/jobs/types").json()["job_types"]]


def test_custom_script_dropped_in_while_running(manager, api):
    assert "say-things" not in names(api)
    manager.scripts.mkdir(exist_ok=True)
    (manager.scripts / "say_things.js").write_text(CUSTOM)
    assert "say-things" in names(api)
    one = api.get("/api/v3/jobs/type/say-things").json()
    assert one["label"] == "Say Things"

    job = api.post("/api/v3/jobs", json={"name": "custom", "type": "say-things", "priority": 50,
                                         "submitter_platform": "linux", "type_etag": one["etag"],
                                         "settings": {"words": "hello"}})
    assert job.status_code == 200, job.text
    worker = ScriptedWorker(manager.url).start()
    task = worker.ask_task().json()
    assert task["commands"] == [{"name": "echo", "parameters": {"message": "hello on linux"},
                                 "total_step_count": 0}]

    # Editing the script changes its etag; a submission with the old one gets 412.
    (manager.scripts / "say_things.js").write_text(CUSTOM.replace("Say Things", "Say More Things"))
    assert api.get("/api/v3/jobs/type/say-things").json()["etag"] != one["etag"]
    stale = api.post("/api/v3/jobs", json={"name": "custom", "type": "say-things", "priority": 50,
                                           "submitter_platform": "linux", "type_etag": one["etag"],
                                           "settings": {"words": "hello"}})
    assert stale.status_code == 412


def test_runaway_scripts_are_stopped_with_a_400(manager, api):
    manager.scripts.mkdir(exist_ok=True)
    (manager.scripts / "runaway.js").write_text(RUNAWAY)
    (manager.scripts / "hog.js").write_text(HOG)
    for name, word in (("runaway", "took longer"), ("hog", "memory")):
        start = time.monotonic()
        resp = api.post("/api/v3/jobs", json={"name": name, "type": name, "priority": 50,
                                              "submitter_platform": "linux", "settings": {}})
        assert resp.status_code == 400, resp.text
        assert word in resp.json()["message"], resp.json()
        assert time.monotonic() - start < 30
    assert api.get("/api/v3/jobs").json()["jobs"] == []
    # The Manager is still fine afterwards.
    assert api.get("/api/v3/version").status_code == 200


def test_variables_expand_for_the_workers_platform(manager, api):
    api.post("/api/v3/jobs", json={
        "name": "render", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
        "settings": {"frames": "1-2", "chunk_size": 2, "format": "PNG", "fps": 24,
                     "image_file_extension": ".png", "blendfile": "/tmp/x.blend",
                     "render_output_path": "/tmp/out/######", "scene": "Scene"}})
    windows = ScriptedWorker(manager.url, name="win", platform="windows").start()
    task = windows.ask_task().json()
    params = task["commands"][0]["parameters"]
    assert params["exe"] == "blender.exe"
    assert params["exeArgs"] == "-b -y"
    stored = api.get(f"/api/v3/tasks/{task['uuid']}").json()["commands"][0]["parameters"]
    assert stored["exe"] == "{blender}"
