"""A job canceled on the Manager mid-render stops Blender within 15 s and leaves no process behind."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.blend import make_blend
from tests.e2e.harness import E2EManager, WorkerProcess, processes_mentioning, task_log, wait_for_job
from tests.e2e.test_worker_render import submit_render
from tests.integration.farm import process_ended, wait_until


def test_cancel_mid_render_kills_blender(tmp_path, need_blender):
    blend = make_blend(tmp_path / "project" / "long.blend", frames=400)
    manager = E2EManager(tmp_path / "manager").start()
    worker = WorkerProcess(tmp_path / "worker", manager.url, name="e2e-cancel")
    try:
        api = manager.api()
        job = submit_render(api, blend, tmp_path / "render", frames="1-400", chunk_size=400)
        render_task = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"][0]
        worker.start()
        wait_for_job(api, job["id"], "active", deadline_s=60, logs=[worker, manager])
        out_dir = Path(api.get(f"/api/v3/jobs/{job['id']}").json()["settings"]["render_output_path"]).parent
        # Mid-render: Blender runs and has written at least one frame.
        wait_until(lambda: processes_mentioning(str(blend)) and list(out_dir.glob("*.png")), deadline_s=60,
                   what="Blender to render its first frame")
        blender_pids = [pid for pid, _cmd in processes_mentioning(str(blend))]

        resp = api.post(f"/api/v3/jobs/{job['id']}/setstatus",
                        json={"status": "cancel-requested", "reason": "e2e test cancels the render"})
        assert resp.status_code == 204, resp.text
        canceled_at = time.monotonic()
        wait_until(lambda: not processes_mentioning(str(blend)), deadline_s=15, interval_s=0.1,
                   what="Blender to stop after the job was canceled")
        stopped_after = time.monotonic() - canceled_at
        assert stopped_after < 15
        rendered = len(list(out_dir.glob("*.png")))
        assert 0 < rendered < 400

        wait_for_job(api, job["id"], "canceled", deadline_s=15, logs=[worker, manager])
        assert api.get(f"/api/v3/tasks/{render_task['id']}").json()["status"] == "canceled"
        # No orphans: nothing that Blender was, or started, is still alive.
        assert processes_mentioning(str(tmp_path / "project")) == []
        # A killed Blender with many threads takes a moment to tear down: its command line is empty by
        # then (so processes_mentioning no longer lists it) while /proc still shows it, not yet a zombie.
        wait_until(lambda: all(process_ended(pid) for pid in blender_pids),
                   deadline_s=10, interval_s=0.1, what="the killed Blender processes to finish exiting")
        # The Worker goes on: alive, and it reported nothing after the cancellation (no failure).
        assert worker.proc.poll() is None
        assert "Failed:" not in task_log(api, render_task["id"])
        # Told by may-i-run, or by the 409 its next log chunk or progress update got.
        # (The Worker logs that once Blender is gone, so the line may come a moment after the check above.)
        wait_until(lambda: "may not keep running" in worker.log_text() or "no longer takes updates"
                   in worker.log_text(), deadline_s=10, what="the Worker to log why it stopped the task")
    finally:
        worker.stop()
        manager.stop()

