"""How fast the web UI shows its first rows at studio scale.

Fills a database with 10,000 jobs and one job of 100,000 tasks, starts a real
Manager on it, and measures in headless Chromium the time from navigation to
the first rendered row of the jobs list and of the big job's tasks list; then
does the same for the jobs list of a farm of 100,000 jobs. Figures are kept in
docs/benchmarks.md. `tests/e2e/test_webui_scale.py` checks the behaviour at
10,000 jobs, not the time.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flamenco_pkg.manager.db import tasks as task_db  # noqa: E402
from flamenco_pkg.manager.db.connection import Database, utcnow  # noqa: E402

STATUSES = ["completed"] * 6 + ["canceled", "failed", "paused", "queued", "active"]
JOB_SETTINGS = json.dumps({"frames": "1-250", "chunk_size": 1, "render_output_root": "/render/shots"})


@dataclass
class ScaleFarm:
    big_job: str
    n_jobs: int
    n_tasks: int


def populate(db_path: Path, n_jobs: int = 10_000, n_tasks: int = 100_000) -> ScaleFarm:
    """`n_jobs` jobs (the first one has `n_tasks` tasks, the rest 3 each)."""
    db = Database(db_path)
    now = utcnow()
    with db.tx() as conn:
        jobs = [(now, now, str(uuid.uuid4()), f"shot_{i:05d}", "simple-blender-render", 50,
                 "active" if i == 0 else STATUSES[i % len(STATUSES)], JOB_SETTINGS)
                for i in range(n_jobs)]
        conn.executemany(
            "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, priority, status, settings)"
            " VALUES (?,?,?,?,?,?,?,?)", jobs)
        ids = [row[0] for row in conn.execute("SELECT id FROM jobs ORDER BY id")]
        big_id = ids[0]
        conn.executemany(
            "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status,"
            " steps_total) VALUES (?,?,?,?,?,?,?,?,1)",
            ((now, now, str(uuid.uuid4()), f"render-{i + 1}", "blender", big_id, i + 1,
              "completed" if i < n_tasks // 3 else "queued") for i in range(n_tasks)))
        conn.executemany(
            "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status,"
            " steps_total) VALUES (?,?,?,?,?,?,?,?,1)",
            ((now, now, str(uuid.uuid4()), f"task-{n}", "misc", job_id, n, "queued")
             for job_id in ids[1:] for n in (1, 2, 3)))
        conn.execute("UPDATE jobs SET steps_total = (SELECT COUNT(*) FROM tasks WHERE job_id = jobs.id),"
                     " steps_completed = (SELECT COUNT(*) FROM tasks WHERE job_id = jobs.id"
                     " AND status = 'completed')")
        task_db.rebuild_derived(conn)
    big = jobs[0][2]
    db.conn.close()
    return ScaleFarm(big_job=big, n_jobs=n_jobs, n_tasks=n_tasks)


# Runs in the page before its own scripts: notes when each table first holds a row,
# so the figure is the moment the row is in the page, not when the test noticed.
FIRST_ROW_RECORDER = """
window.__firstRow = {};
new MutationObserver(() => {
  for (const row of document.querySelectorAll('.vtable .vtable-row')) {
    const table = row.closest('.vtable').dataset.table;
    if (!(table in window.__firstRow)) window.__firstRow[table] = performance.now();
  }
}).observe(document, { childList: true, subtree: true });
"""


def first_row_ms(page, url: str, table: str, timeout_ms: float = 60_000) -> float:
    """Milliseconds from navigating to `url` until `table` holds a rendered row."""
    if not getattr(page, "_first_row_recorder", False):
        page.add_init_script(FIRST_ROW_RECORDER)
        page._first_row_recorder = True
    page.goto(url, wait_until="commit")
    page.wait_for_selector(f'.vtable[data-table="{table}"] .vtable-row', timeout=timeout_ms)
    return page.evaluate(f"window.__firstRow[{table!r}]")


def measure(base_url: str, big_job: str, browser) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    try:
        jobs_ms = first_row_ms(page, f"{base_url}/app/jobs", "jobs")
        tasks_ms = first_row_ms(page, f"{base_url}/app/jobs/{big_job}", "tasks")
        rows = page.locator('.vtable[data-table="tasks"] .vtable-row').count()
    finally:
        page.close()
    return {"jobs_ms": jobs_ms, "tasks_ms": tasks_ms, "tasks_rows_in_dom": rows}


def run_farm(n_jobs: int, n_tasks: int, browser_job) -> tuple[ScaleFarm, float, dict[str, float]]:
    """Fill a database, start a Manager on it and run `browser_job(url, farm, browser)`."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.webui_harness import launch_chromium
    from tests.integration.farm import ManagerProcess

    with tempfile.TemporaryDirectory() as tmp:
        manager = ManagerProcess(Path(tmp) / "manager")
        manager.workdir.mkdir(parents=True)
        start = time.perf_counter()
        farm = populate(manager.db_path, n_jobs=n_jobs, n_tasks=n_tasks)
        filled = time.perf_counter() - start
        manager.start(deadline_s=180)  # the start-up integrity check reads every row: slow on a busy machine
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                try:
                    result = browser_job(manager.url, farm, browser)
                finally:
                    browser.close()
        finally:
            manager.stop()
    return farm, filled, result


def jobs_only(base_url: str, _farm: ScaleFarm, browser) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    try:
        return {"jobs_ms": first_row_ms(page, f"{base_url}/app/jobs", "jobs")}
    finally:
        page.close()


def main() -> None:
    import os

    from bench import report

    load_before = os.getloadavg()[0]
    farm, filled, result = run_farm(10_000, 100_000, lambda url, f, b: measure(url, f.big_job, b))
    big, big_filled, big_result = run_farm(100_000, 3, jobs_only)
    lines = [
        f"web UI, {farm.n_jobs:,} jobs: first row of the jobs list after {result['jobs_ms']:.0f} ms",
        f"web UI, job of {farm.n_tasks:,} tasks: first row of its tasks list after {result['tasks_ms']:.0f} ms "
        f"({result['tasks_rows_in_dom']} rows in the page; database filled in {filled:.1f} s)",
        f"web UI, {big.n_jobs:,} jobs: first row of the jobs list after {big_result['jobs_ms']:.0f} ms "
        f"(database filled in {big_filled:.1f} s)",
    ]
    for line in lines:
        print(line)
    rows = [("jobs list", f"{farm.n_jobs:,} jobs", result["jobs_ms"], "< 1 s"),
            ("jobs list", f"{big.n_jobs:,} jobs", big_result["jobs_ms"], "< 1.5 s"),
            ("tasks list", f"a job of {farm.n_tasks:,} tasks", result["tasks_ms"], "")]
    table = "\n".join(f"| {page} | {size} | {ms / 1000:.2f} s | {target} |" for page, size, ms, target in rows)
    report.write_section(
        "webui", "## Web UI at studio scale (`bench/bench_webui.py`)\n\n"
        "Time from navigating to the page until the first row of the table is in the page, in headless "
        "Chromium (cold browser) against a Manager started from the source tree on a filled SQLite database.\n\n"
        f"Machine: {report.machine_line()}; load average {load_before:.1f} before the run, "
        f"{os.getloadavg()[0]:.1f} after.\n\n"
        "| page | farm | first row | target (issue 15) |\n| --- | --- | --- | --- |\n" + table)


if __name__ == "__main__":
    main()
