"""Times in the web UI while a real Worker runs a short job: render time per task, the job's elapsed
time and estimated time left, the per-frame chart, and the Worker's current task with its time on it."""

from __future__ import annotations

import re

from tests.e2e.harness import WorkerProcess, wait_for_job
from tests.e2e.webui_harness import browser, page, screenshot  # noqa: F401  (fixtures)
from tests.e2e.webui_harness import require_built_webapp
from tests.integration.farm import ManagerProcess, wait_until

SLEEP_S = 2
SLEEPS = 3
DURATION = re.compile(r"^(\d+(?:\.\d)?) s$")  # formatDuration() below a minute


def seconds(text: str) -> float | None:
    match = DURATION.match(text.strip())
    return float(match.group(1)) if match else None


def test_times_of_a_job_run_by_a_real_worker(tmp_path, browser):  # noqa: F811
    require_built_webapp()
    manager = ManagerProcess(tmp_path / "manager").start()
    worker = WorkerProcess(tmp_path / "worker", manager.url, name="timed-worker")
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    errors: list[str] = []
    try:
        api = manager.api()
        job = api.post("/api/v3/jobs", json={
            "name": "timed", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "tick", "sleep_duration_seconds": SLEEP_S, "sleep_repeats": SLEEPS}}).json()
        job_page = context.new_page()
        job_page.on("pageerror", lambda exc: errors.append(str(exc)))
        job_page.set_default_timeout(15_000)
        job_page.goto(f"{manager.url}/app/jobs/{job['id']}")
        job_page.locator(".tasks-table [role='gridcell'][data-col='duration']").first.wait_for(state="attached")
        worker.start()

        # While the job runs: the Worker's page names its task and how long it has been on it.
        wait_until(lambda: api.get("/api/v3/worker-mgt/workers").json()["workers"], deadline_s=60,
                   what="the Worker to register")
        worker_id = api.get("/api/v3/worker-mgt/workers").json()["workers"][0]["id"]
        worker_page = context.new_page()
        worker_page.on("pageerror", lambda exc: errors.append(str(exc)))
        worker_page.set_default_timeout(15_000)
        worker_page.goto(f"{manager.url}/app/workers/{worker_id}")
        task_link = worker_page.locator('[data-field="worker-task"]')
        on_it = worker_page.locator('[data-field="worker-task-time"]')
        wait_until(lambda: task_link.count() and "sleep (active)" in task_link.inner_text()
                   and on_it.count() and on_it.inner_text().strip().startswith("on it for"),
                   deadline_s=60, interval_s=0.1, what="the Worker's current task and its time on it")
        first = seconds(on_it.inner_text().strip().removeprefix("on it for"))
        assert first is not None and 0 <= first <= SLEEP_S + 1, on_it.inner_text()
        wait_until(lambda: seconds(on_it.inner_text().strip().removeprefix("on it for")) not in (None, first)
                   if on_it.count() else False, deadline_s=5, interval_s=0.1, what="the time on it to tick")
        screenshot(worker_page, "worker-current-task")

        # The job's elapsed time and an estimate of the time left, once a task has completed.
        eta = job_page.locator('[data-field="job-eta"]')
        wait_until(lambda: eta.count() and eta.inner_text().strip().startswith("≈"), deadline_s=30, interval_s=0.1,
                   what="the job's estimated time left")
        assert seconds(eta.inner_text().strip().removeprefix("≈")) is not None, eta.inner_text()
        assert seconds(job_page.locator('[data-field="job-elapsed"]').inner_text()) is not None
        screenshot(job_page, "job-times-running")

        wait_for_job(api, job["id"], "completed", deadline_s=60, logs=[worker, manager])

        # Every task shows its render time; the sleeps took about SLEEP_S each.
        def durations() -> dict[str, list[float]]:
            out: dict[str, list[float]] = {}
            for row in job_page.locator(".tasks-table [role='row']:has([role='gridcell'][data-col='duration'])").all():
                name = row.locator("[role='gridcell'][data-col='name']").inner_text().strip()
                value = seconds(row.locator("[role='gridcell'][data-col='duration']").inner_text())
                if value is not None:
                    out.setdefault(name, []).append(value)
            return out

        wait_until(lambda: len(durations().get("sleep", [])) == SLEEPS and durations().get("echo"),
                   deadline_s=15, what="a render time on every task")
        assert all(SLEEP_S <= d < SLEEP_S + 3 for d in durations()["sleep"]), durations()
        # Done: the elapsed time stops at the last finish and there is nothing left to estimate.
        wait_until(lambda: not eta.count(), deadline_s=10, what="the estimate to go once the job is done")
        elapsed = seconds(job_page.locator('[data-field="job-elapsed"]').inner_text())
        assert elapsed is not None and SLEEP_S * SLEEPS <= elapsed < SLEEP_S * SLEEPS + 10

        # The chart of render time per task, drawn by the plotting library on a canvas.
        chart = job_page.locator(".render-time-chart")
        wait_until(lambda: chart.count() and chart.get_attribute("data-points") == str(SLEEPS + 1),
                   deadline_s=10, what="the chart with a bar per task")
        assert chart.locator("canvas").count() == 1
        box = chart.locator("canvas").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50
        screenshot(job_page, "job-times-done")
        assert not errors, errors
    finally:
        context.close()
        worker.stop()
        manager.stop()
