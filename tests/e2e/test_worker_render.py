"""A Manager and a Worker render a real 4-frame scene: frames, preview video, logs, last-rendered."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import requests

from tests.e2e.blend import make_blend
from tests.e2e.harness import E2EManager, WorkerProcess, task_log, wait_for_job
from tests.integration.farm import wait_until


def submit_render(api, blend: Path, out_root: Path, frames: str, chunk_size: int) -> dict:
    resp = api.post("/api/v3/jobs", json={
        "name": "tiny", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
        "settings": {
            "frames": frames, "chunk_size": chunk_size, "render_output_root": str(out_root),
            "add_path_components": 0, "render_output_path": f"{out_root}/tiny/{{timestamp}}/######",
            "blendfile": str(blend), "fps": 24.0, "format": "PNG", "image_file_extension": ".png",
            "has_previews": False, "scene": "Scene"}})
    assert resp.status_code == 200, resp.text
    return resp.json()


def frame_count(video: Path) -> int:
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames", "-of", "json", str(video)],
                           capture_output=True, text=True, timeout=60, check=True)
    return int(json.loads(probe.stdout)["streams"][0]["nb_read_frames"])


def test_render_job_end_to_end(tmp_path, need_blender):
    blend = make_blend(tmp_path / "project" / "tiny.blend", frames=4)
    manager = E2EManager(tmp_path / "manager").start()
    worker = WorkerProcess(tmp_path / "worker", manager.url, name="e2e-render")
    try:
        api = manager.api()
        job = submit_render(api, blend, tmp_path / "render", frames="1-4", chunk_size=2)
        tasks = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]
        assert [t["name"] for t in tasks] == ["render-1,2", "render-3,4", "preview-video"]
        worker.start()
        wait_for_job(api, job["id"], "completed", deadline_s=180, logs=[worker, manager])

        out_dir = Path(api.get(f"/api/v3/jobs/{job['id']}").json()["settings"]["render_output_path"]).parent
        frames = sorted(p.name for p in out_dir.glob("*.png"))
        assert frames == ["000001.png", "000002.png", "000003.png", "000004.png"]
        video = out_dir / "tiny-1-4.mp4"
        assert video.exists(), sorted(os.listdir(out_dir))
        assert frame_count(video) == 4

        done = api.get(f"/api/v3/jobs/{job['id']}").json()
        assert done["steps_completed"] == done["steps_total"] == 5
        render_log = task_log(api, tasks[0]["id"])
        for frame in ("000001.png", "000002.png"):
            assert f"Saved: '{out_dir / frame}'" in render_log
        assert "going to run:" in render_log and "--render-frame 1,2" in render_log
        assert "pid=" in render_log
        preview_log = task_log(api, tasks[2]["id"])
        assert "-pattern_type glob" in preview_log

        # The Worker sent its frames as last-rendered images; the Manager made thumbnails of them.
        info = wait_until(lambda: (r := api.get(f"/api/v3/jobs/{job['id']}/last-rendered")).status_code == 200
                          and r.json(), deadline_s=30, what="a last-rendered image on the Manager")
        image = requests.get(manager.url + info["base"].rstrip("/") + "/" + info["suffixes"][0], timeout=10)
        assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
    finally:
        code = worker.stop()
        manager.stop()
    assert code == 1  # stopped by SIGTERM, as upstream
    assert "signed off at the Manager" in worker.log_text()
