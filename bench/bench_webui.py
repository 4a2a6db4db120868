"""How fast the web UI shows its first rows at studio scale.

Fills a database with 10,000 jobs and one job of 100,000 tasks, starts a real
Manager on it, and measures in headless Chromium the time from navigation to
the first rendered row of the jobs list and of the big job's tasks list.
`tests/e2e/test_webui_scale.py` runs the same measurement with a loose bound.
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


def first_row_ms(page, url: str, table: str, timeout_ms: float = 60_000) -> float:
    """Milliseconds from navigating to `url` until `table` shows a row."""
    page.goto(url, wait_until="commit")
    page.wait_for_selector(f'.vtable[data-table="{table}"] .vtable-row', timeout=timeout_ms)
    return page.evaluate("performance.now()")


def measure(base_url: str, big_job: str, browser) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    try:
        jobs_ms = first_row_ms(page, f"{base_url}/app/jobs", "jobs")
        tasks_ms = first_row_ms(page, f"{base_url}/app/jobs/{big_job}", "tasks")
        rows = page.locator('.vtable[data-table="tasks"] .vtable-row').count()
    finally:
        page.close()
    return {"jobs_ms": jobs_ms, "tasks_ms": tasks_ms, "tasks_rows_in_dom": rows}


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.webui_harness import launch_chromium
    from tests.integration.farm import ManagerProcess

    with tempfile.TemporaryDirectory() as tmp:
        manager = ManagerProcess(Path(tmp) / "manager")
        manager.workdir.mkdir(parents=True)
        start = time.perf_counter()
        farm = populate(manager.db_path)
        filled = time.perf_counter() - start
        manager.start()
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                try:
                    result = measure(manager.url, farm.big_job, browser)
                finally:
                    browser.close()
        finally:
            manager.stop()
    print(f"web UI, {farm.n_jobs:,} jobs: first row of the jobs list after {result['jobs_ms']:.0f} ms")
    print(f"web UI, job of {farm.n_tasks:,} tasks: first row of its tasks list after {result['tasks_ms']:.0f} ms "
          f"({result['tasks_rows_in_dom']} rows in the page; database filled in {filled:.1f} s)")


if __name__ == "__main__":
    main()
