"""50 workers asking for tasks at the same moment never get the same task."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.integration.farm import ScriptedWorker


def test_fifty_workers_never_share_a_task(manager, api):
    job = api.post("/api/v3/jobs", json={
        "name": "many sleeps", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "go", "sleep_duration_seconds": 1, "sleep_repeats": 120}}).json()
    # Complete the echo task so all 120 sleep tasks become runnable.
    first = ScriptedWorker(manager.url, name="opener").start()
    echo = first.ask_task().json()
    assert first.update(echo["uuid"], taskStatus="completed").status_code == 204
    first.sign_off()

    workers = [ScriptedWorker(manager.url, name=f"w{i:02d}") for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(lambda w: w.start(), workers))

    got: dict[str, list[str]] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    def grab(worker: ScriptedWorker) -> None:
        barrier.wait()
        for _ in range(2):
            resp = worker.ask_task()
            assert resp.status_code == 200, resp.text
            task = resp.json()
            with lock:
                got.setdefault(task["uuid"], []).append(worker.uuid)
            assert worker.update(task["uuid"], taskStatus="completed").status_code == 204

    with ThreadPoolExecutor(max_workers=50) as pool:
        for future in [pool.submit(grab, w) for w in workers]:
            future.result()

    duplicates = {t: ws for t, ws in got.items() if len(ws) > 1}
    assert not duplicates, f"tasks handed to more than one worker: {duplicates}"
    assert len(got) == 100
    tasks = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]
    assert sum(t["status"] == "completed" for t in tasks) == 101
