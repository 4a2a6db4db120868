"""The web UI in headless Chromium against a real Manager: live lists, actions, logs.

Jobs are submitted over the API and worked by a scripted worker while the
page stays open; every check waits for the page to change by itself (no
reloads), and actions clicked in the page are checked in the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.webui_harness import browser, page, screenshot  # noqa: F401  (fixtures)
from tests.integration.farm import Api, ManagerProcess, ScriptedWorker, wait_until

JOBS_ROWS = '.vtable[data-table="jobs"] .vtable-row'


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[ManagerProcess]:
    manager = ManagerProcess(tmp_path_factory.mktemp("webui") / "manager").start()
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def api(farm: ManagerProcess) -> Api:
    return farm.api()


@pytest.fixture(scope="module")
def worker(farm: ManagerProcess) -> ScriptedWorker:
    return ScriptedWorker(farm.url, name="render-ui").start()


def submit(api: Api, name: str, repeats: int = 1) -> dict:
    resp = api.post("/api/v3/jobs", json={
        "name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": f"hello from {name}", "sleep_duration_seconds": 1, "sleep_repeats": repeats}})
    assert resp.status_code == 200, resp.text
    return resp.json()


def job_status_in_db(db_path: Path, job_id: str) -> str:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT status FROM jobs WHERE uuid = ?", (job_id,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else ""


def job_row(page, name: str):
    return page.locator(JOBS_ROWS, has_text=name)


def mark_page(page) -> None:
    """A flag that a reload would wipe: checked at the end of live tests."""
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page reloaded"


def open_app(page, farm: ManagerProcess, path: str = "/app/jobs") -> None:
    page.goto(farm.url + path)
    wait_until(lambda: page.evaluate("window.__flamencoSubscriptions && window.__flamencoSubscriptions().length > 0"),
               what="the Manager to confirm the live-update subscriptions")


def finish_next_task(worker: ScriptedWorker, job_id: str) -> dict:
    resp = worker.ask_task()
    assert resp.status_code == 200, resp.text
    task = resp.json()
    assert task["job"] == job_id
    assert worker.update(task["uuid"], taskStatus="active", activity="Started").status_code == 204
    assert worker.update(task["uuid"], taskStatus="completed", activity="Done").status_code == 204
    return task


def test_submitted_job_appears_and_completes_live(farm, api, worker, page):
    open_app(page, farm)
    mark_page(page)

    job = submit(api, "live-appear")
    row = job_row(page, "live-appear")
    row.wait_for()
    assert "queued" in row.locator('[data-col="status"]').inner_text()

    finish_next_task(worker, job["id"])
    wait_until(lambda: "active" in row.locator('[data-col="status"]').inner_text(),
               what="the job to show as active")
    finish_next_task(worker, job["id"])
    wait_until(lambda: "completed" in row.locator('[data-col="status"]').inner_text(),
               what="the job to show as completed")
    assert job_status_in_db(farm.db_path, job["id"]) == "completed"
    # The notification footer told about the status changes.
    page.locator('[data-action="notifications"]').click()
    history = page.locator('[data-field="notification-history"]')
    assert "live-appear" in history.inner_text()
    assert_not_reloaded(page)
    assert not page.errors, page.errors
    screenshot(page, "jobs-list")


def test_cancel_clicked_in_the_ui_cancels_in_the_database(farm, api, page):
    job = submit(api, "cancel-me", repeats=3)
    open_app(page, farm)
    job_row(page, "cancel-me").click()
    details = page.locator(f'.job-details[data-job="{job["id"]}"]')
    details.wait_for()
    # The job view subscribes to this job only, next to the list of all jobs.
    subs = page.evaluate("window.__flamencoSubscriptions()")
    assert "allJobs:" in subs and f"job:{job['id']}" in subs
    page.locator('.tasks-panel .vtable-row').first.wait_for()

    details.locator('[data-action="job-cancel"]').click()
    wait_until(lambda: job_status_in_db(farm.db_path, job["id"]) == "canceled", what="the job to be canceled")
    wait_until(lambda: details.locator('[data-field="job-status"]').inner_text() == "canceled",
               what="the details to show the cancellation")
    # The tasks list follows the job's mass update.
    wait_until(lambda: page.locator('.tasks-panel [data-col="status"]', has_text="queued").count() == 0,
               what="the tasks to show as canceled")
    assert page.locator('.tasks-panel [data-col="status"]', has_text="canceled").count() == 4
    # Cancel is no longer offered; requeue now is.
    assert details.locator('[data-action="job-cancel"]').is_disabled()
    assert details.locator('[data-action="job-requeue"]').is_enabled()

    # Priority, edited in the details tab.
    details.locator('[data-tab="details"]').click()
    details.locator('[data-action="edit-priority"]').click()
    details.locator('input[name="priority"]').fill("80")
    details.locator('[data-action="save-priority"]').click()
    wait_until(lambda: details.locator('[data-field="priority"]').count() and
               details.locator('[data-field="priority"]').inner_text() == "80", what="the new priority")
    assert api.get(f"/api/v3/jobs/{job['id']}").json()["priority"] == 80
    wait_until(lambda: job_row(page, "cancel-me").locator('[data-col="priority"]').inner_text() == "80",
               what="the list to show the new priority")
    assert not page.errors, page.errors
    screenshot(page, "job-details")


def test_task_log_lines_appear_as_they_are_written(farm, api, worker, page):
    job = submit(api, "log-follow")
    resp = worker.ask_task()
    assert resp.status_code == 200, resp.text
    task = resp.json()
    assert worker.update(task["uuid"], taskStatus="active", activity="Rendering").status_code == 204

    open_app(page, farm, f"/app/jobs/{job['id']}/{task['uuid']}")
    mark_page(page)
    log_box = page.locator('[data-field="task-log"]')
    wait_until(lambda: "task assigned to worker render-ui" in log_box.inner_text(), what="the log tail")
    assert f"tasklog:{task['uuid']}" in page.evaluate("window.__flamencoSubscriptions()")

    assert worker.update(task["uuid"], log="Fra:1 Mem:12M | Rendering 1 / 64 samples\n").status_code == 204
    wait_until(lambda: "Rendering 1 / 64 samples" in log_box.inner_text(), what="the first live log line")
    assert worker.update(task["uuid"], log="Fra:1 Mem:12M | Rendering 64 / 64 samples\n").status_code == 204
    wait_until(lambda: "Rendering 64 / 64 samples" in log_box.inner_text(), what="the second live log line")
    text = log_box.inner_text()
    assert text.count("Rendering 1 / 64 samples") == 1
    assert text.index("Rendering 1 / 64") < text.index("Rendering 64 / 64")
    assert page.locator('[data-field="activity"]').inner_text() == "Rendering"
    assert_not_reloaded(page)
    assert not page.errors, page.errors
    screenshot(page, "task-details")
    assert worker.update(task["uuid"], taskStatus="completed").status_code == 204


def test_workers_tags_settings_and_last_rendered_views(farm, api, worker, page):
    open_app(page, farm, "/app/workers")
    row = page.locator('.vtable[data-table="workers"] .vtable-row', has_text="render-ui")
    row.click()
    details = page.locator(f'.worker-details[data-worker="{worker.uuid}"]')
    details.wait_for()
    assert "awake" in details.locator('[data-field="worker-status"]').inner_text()
    subs = page.evaluate("window.__flamencoSubscriptions()")
    assert "allWorkers:" in subs and "allJobs:" not in subs

    # Ask the worker to sleep after its current task: the list shows the pending change.
    page.select_option('select[name="worker-action"]', "sleep")
    page.locator('[data-action="worker-apply"]').click()
    wait_until(lambda: "➠ asleep" in row.locator('[data-col="status"]').inner_text(),
               what="the lazy sleep request in the list")
    assert worker.api.get("/api/v3/worker/state").json() == {"status_requested": "asleep"}

    details.locator('[data-action="edit-schedule"]').click()
    details.locator('input[name="days"]').fill("mo tu fr")
    details.locator('input[name="start"]').fill("9:00")
    details.locator('input[name="end"]').fill("18:00")
    details.locator('[data-action="save-schedule"]').click()
    details.locator('[data-action="edit-schedule"]').wait_for()
    schedule = api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule").json()
    assert (schedule["days_of_week"], schedule["end_time"], schedule["is_active"]) == ("mo tu fr", "18:00", False)
    assert schedule["start_time"] in ("9:00", "09:00")
    screenshot(page, "workers")

    page.locator('[data-nav="tags"]').click()
    page.fill('input[name="new-tag-name"]', "gpu-nodes")
    page.locator('[data-action="tag-create"]').click()
    page.locator('tr[data-tag="gpu-nodes"]').wait_for()
    tags = api.get("/api/v3/worker-mgt/tags").json()["tags"]
    assert [t["name"] for t in tags] == ["gpu-nodes"]
    screenshot(page, "tags")

    page.locator('[data-nav="last-rendered"]').click()
    page.locator("img.last-rendered").wait_for()
    screenshot(page, "last-rendered")

    page.locator('[data-nav="settings"]').click()
    name_input = page.locator('input[name="manager_name"]')
    name_input.wait_for()
    assert name_input.input_value() == "Flamenco"
    name_input.fill("Render Farm")
    name_input.press("Tab")
    page.locator('[data-action="settings-save"]').click()
    wait_until(lambda: api.get("/api/v3/configuration/file").json()["manager_name"] == "Render Farm",
               what="the saved manager name")
    assert "manager_name: Render Farm" in (farm.workdir / "flamenco-manager.yaml").read_text()
    screenshot(page, "settings")
    assert not page.errors, page.errors


def test_bulk_action_on_a_multi_selection(farm, api, page):
    first, second = submit(api, "bulk-a"), submit(api, "bulk-b")
    open_app(page, farm)
    job_row(page, "bulk-a").click()
    job_row(page, "bulk-b").click(modifiers=["Control"])
    wait_until(lambda: page.locator(JOBS_ROWS + ".selected").count() == 2, what="two selected jobs")
    page.locator('.col-jobs [data-action="job-pause"]').click()
    for job in (first, second):
        wait_until(lambda: job_status_in_db(farm.db_path, job["id"]) == "paused", what=f"{job['name']} paused")
    wait_until(lambda: "paused" in job_row(page, "bulk-b").locator('[data-col="status"]').inner_text(),
               what="the list to show the paused jobs")
    assert not page.errors, page.errors


def test_swagger_ui_loads_the_managers_spec(farm, page):
    page.goto(farm.url + "/api/v3/swagger-ui/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert page.locator(".opblock-summary-path", has_text="/api/v3/jobs/{job_id}/setstatus").count() >= 1
    screenshot(page, "swagger-ui")


def test_live_updates_recover_after_a_manager_restart(farm, api, page):
    open_app(page, farm)
    mark_page(page)
    farm.stop()
    page.locator('[data-field="connection-lost"]').wait_for()
    farm.start()
    page.locator('[data-field="connection-lost"]').wait_for(state="detached", timeout=20_000)
    submit(farm.api(), "after-restart")
    job_row(page, "after-restart").wait_for()
    assert_not_reloaded(page)
