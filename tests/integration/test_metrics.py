"""GET /metrics over real HTTP, parsed by prometheus-client: every family, and values that move."""

from __future__ import annotations

from tests.integration.farm import ScriptedWorker, wait_until
from tests.integration.live import LiveClient
from tests.integration.scrape import Scrape, metric
from tests.integration.test_job_lifecycle import run_task, submit_echo

FAMILIES = {
    "flamenco_jobs": "gauge", "flamenco_tasks": "gauge", "flamenco_workers": "gauge",
    "flamenco_task_dispatches": "counter", "flamenco_task_updates": "counter",
    "flamenco_http_request_duration_seconds": "histogram", "flamenco_scheduler_pick_seconds": "histogram",
    "flamenco_database_size_bytes": "gauge", "flamenco_database_wal_size_bytes": "gauge",
    "flamenco_socketio_clients": "gauge",
    "flamenco_mqtt_queue_length": "gauge", "flamenco_mqtt_dropped": "counter", "flamenco_mqtt_connected": "gauge",
    "flamenco_webhook_deliveries": "counter", "flamenco_webhook_failures": "counter",
    "flamenco_webhook_outbox": "gauge",
}


def run_job(worker: ScriptedWorker, n_tasks: int) -> None:
    for _ in range(n_tasks):
        resp = worker.ask_task()
        assert resp.status_code == 200, resp.text
        run_task(worker, resp.json(), "done")
    assert worker.ask_task().status_code == 204


def test_every_family_is_served_and_moves_when_a_job_runs(manager, api):
    url = manager.url
    before = Scrape(url)
    assert {name: before.families[name].type for name in FAMILIES if name in before.families} == FAMILIES
    assert before.value("flamenco_jobs", status="queued") == 0
    assert before.value("flamenco_workers", status="awake") == 0
    assert before.value("flamenco_database_size_bytes") > 0

    live = LiveClient(url)
    try:
        wait_until(lambda: metric(url, "flamenco_socketio_clients") == 1, what="the web client to be counted")
        job = submit_echo(api, sleep_repeats=1)  # echo + one sleep
        queued = Scrape(url)
        assert queued.value("flamenco_jobs", status="queued") == 1
        assert queued.value("flamenco_tasks", status="queued") == 2

        worker = ScriptedWorker(url, name="metrics-01").start()
        assert Scrape(url).value("flamenco_workers", status="awake") == 1
        run_job(worker, 2)
        assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "completed"

        after = Scrape(url)
        assert after.value("flamenco_jobs", status="completed") == 1
        assert after.value("flamenco_jobs", status="queued") == after.value("flamenco_jobs", status="active") == 0
        assert after.value("flamenco_tasks", status="completed") == 2
        assert after.value("flamenco_tasks", status="queued") == 0
        assert after.value("flamenco_task_dispatches_total") == 2
        assert after.value("flamenco_task_updates_total") == 6  # three per task
        duration = "flamenco_http_request_duration_seconds_count"
        assert after.value(duration, operation="submitJob") == 1
        assert after.value(duration, operation="taskUpdate") == 6
        assert after.value(duration, operation="scheduleTask") == 3  # two tasks, then "nothing left"
        assert after.value("flamenco_scheduler_pick_seconds_count") == 3
        assert after.value("flamenco_scheduler_pick_seconds_sum") > 0
        assert after.value("flamenco_mqtt_queue_length") == 0 and after.value("flamenco_mqtt_connected") == 0

        # Deleting the job takes its counts away (kept by triggers, not recounted).
        assert api.delete(f"/api/v3/jobs/{job['id']}").status_code == 204
        wait_until(lambda: metric(url, "flamenco_jobs", status="completed") == 0, what="the deleted job to go")
        assert metric(url, "flamenco_tasks", status="completed") == 0
    finally:
        live.close()
    wait_until(lambda: metric(url, "flamenco_socketio_clients") == 0, what="the web client to be gone")
