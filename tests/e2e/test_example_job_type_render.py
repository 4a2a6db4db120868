"""The worked job-type example renders for real: two cameras, a folder and a video each."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.blend import make_blend
from tests.e2e.harness import E2EManager, WorkerProcess, wait_for_job
from tests.e2e.test_worker_render import frame_count

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "job-types" / "multi_camera_render.js"

# The default scene (cube, camera "Camera") plus a second camera looking from above.
TOP_CAMERA = """
data = bpy.data.cameras.new("Top View")
top = bpy.data.objects.new("Top View", data)
scene.collection.objects.link(top)
top.location = (0.0, 0.0, 9.0)
"""


def two_camera_blend(path: Path) -> Path:
    return make_blend(path, frames=2, extra=TOP_CAMERA)


def test_multi_camera_example_renders_each_camera(tmp_path, need_blender):
    blend = two_camera_blend(tmp_path / "project" / "two-cams.blend")
    manager = E2EManager(tmp_path / "manager")
    manager.scripts.mkdir(parents=True)
    shutil.copy(EXAMPLE, manager.scripts)  # what the guide tells a studio to do
    manager.start()
    worker = WorkerProcess(tmp_path / "worker", manager.url, name="e2e-cameras")
    try:
        api = manager.api()
        types = {t["name"]: t for t in api.get("/api/v3/jobs/types").json()["job_types"]}
        etag = types["multi-camera-render"]["etag"]
        resp = api.post("/api/v3/jobs", json={
            "name": "two cams", "type": "multi-camera-render", "type_etag": etag, "priority": 50,
            "submitter_platform": "linux",
            "settings": {"frames": "1-2", "cameras": "Camera, Top View", "chunk_size": 2,
                         "render_output_root": str(tmp_path / "render"), "blendfile": str(blend),
                         "scene": "Scene", "format": "PNG", "image_file_extension": ".png", "fps": 24.0,
                         "has_previews": False}})
        assert resp.status_code == 200, resp.text
        job = resp.json()
        worker.start()
        wait_for_job(api, job["id"], "completed", deadline_s=240, logs=[worker, manager])

        out = Path(api.get(f"/api/v3/jobs/{job['id']}").json()["settings"]["render_output_path"])
        front, top = out / "Camera", out / "Top_View"
        for folder in (front, top):
            assert sorted(p.name for p in folder.glob("*.png")) == ["000001.png", "000002.png"]
            assert frame_count(folder / f"{folder.name}.mp4") == 2
        # Each camera really looked from its own place.
        assert (front / "000001.png").read_bytes() != (top / "000001.png").read_bytes()
    finally:
        worker.stop()
        manager.stop()
