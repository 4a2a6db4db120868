"""The task log in the app: newest part first, earlier parts on request, search, and live lines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.webui_harness import browser, page, screenshot  # noqa: F401  (fixtures)
from tests.e2e.webui_harness import require_built_webapp
from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until

LINES = 6000  # about 600 KB: more than the viewer reads at first (256 KiB)


def line(n: int) -> str:
    return f"Fra:{n:05d} Mem:{n % 97:02d}M | Rendering sample {n} of {LINES} — ünïcode keeps its bytes\n"


@pytest.fixture(scope="module")
def busy_task(tmp_path_factory) -> Iterator[tuple[ManagerProcess, ScriptedWorker, dict, dict]]:
    require_built_webapp()
    manager = ManagerProcess(tmp_path_factory.mktemp("webui-tasklog") / "manager").start()
    api = manager.api()
    job = api.post("/api/v3/jobs", json={"name": "long log", "type": "echo-sleep-test", "priority": 50,
                                         "submitter_platform": "linux", "settings": {"message": "hi"}}).json()
    worker = ScriptedWorker(manager.url, name="chatty").start()
    task = worker.ask_task().json()
    assert worker.update(task["uuid"], taskStatus="active").status_code == 204
    for first in range(1, LINES + 1, 1000):
        text = "".join(line(n) for n in range(first, min(first + 1000, LINES + 1)))
        assert worker.update(task["uuid"], log=text).status_code == 204
    try:
        yield manager, worker, job, task
    finally:
        manager.stop()


def test_task_log_pages_searches_and_follows(busy_task, page):
    manager, worker, job, task = busy_task
    page.goto(f"{manager.url}/app/jobs/{job['id']}/{task['uuid']}")
    log_box = page.locator('[data-field="task-log"]')
    wait_until(lambda: f"Fra:{LINES:05d}" in log_box.inner_text(), what="the end of the log")
    assert "Fra:00001 " not in log_box.inner_text(), "the first read is only the end of the file"
    earlier = page.locator('[data-action="log-earlier"]')
    assert earlier.is_enabled()

    # Earlier parts, until the whole log is there, each line once and in order.
    for _ in range(5):
        if "Fra:00001 " in log_box.inner_text():
            break
        earlier.click()
        wait_until(lambda: earlier.is_enabled() or earlier.inner_text() == "whole log shown", what="a page read")
    text = log_box.inner_text()
    numbered = [ln for ln in text.splitlines() if ln.startswith("Fra:")]
    assert numbered == [line(n).rstrip("\n") for n in range(1, LINES + 1)]
    assert earlier.inner_text() == "whole log shown" and earlier.is_disabled()

    # Search shows the matching lines only, with the match marked.
    page.fill('input[name="log-search"]', "fra:04242")
    matches = page.locator('[data-field="task-log-matches"]')
    wait_until(lambda: page.locator('[data-field="log-matches"]').inner_text() == "1 matching line",
               what="one match")
    assert matches.locator("mark").inner_text() == "Fra:04242"
    assert matches.inner_text().strip() == line(4242).strip()
    screenshot(page, "task-log-search")
    page.fill('input[name="log-search"]', "")

    # Live: a new line shows up without reloading, after the last one.
    assert worker.update(task["uuid"], log="Saved: '/render/out/004242.png'\n").status_code == 204
    wait_until(lambda: "Saved: '/render/out/004242.png'" in log_box.inner_text(), what="the live line")
    assert log_box.inner_text().rstrip().endswith("Saved: '/render/out/004242.png'")
    assert not page.errors, page.errors
