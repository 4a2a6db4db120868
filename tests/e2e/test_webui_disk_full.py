"""The web UI shows a full Manager disk live (issue 12), and drops the warning once space is back."""

from __future__ import annotations

from tests.e2e.webui_harness import browser, page, screenshot  # noqa: F401  (fixtures)
from tests.integration.test_disk_full import fill, manager_on_small_disk, small_disk, submit_and_start  # noqa: F401


def test_full_disk_shows_in_the_farm_status(manager_on_small_disk, small_disk, page):  # noqa: F811
    manager = manager_on_small_disk
    api = manager.api()
    _job, worker, task = submit_and_start(api, manager)
    page.goto(manager.url + "/app/jobs")
    page.locator('[data-field="farm-status"]', has_text="active").wait_for()
    assert page.locator('[data-field="disk-full"]').count() == 0
    page.evaluate("window.__noReload = true")

    filler = fill(small_disk)
    assert worker.update(task["uuid"], log="x" * 8192).status_code == 507
    badge = page.locator('[data-field="disk-full"]')
    badge.wait_for()
    assert str(small_disk) in badge.get_attribute("title")
    banner = page.locator('[data-field="disk-full-message"]')
    assert str(small_disk) in banner.inner_text() and "free some space there" in banner.inner_text()
    screenshot(page, "disk-full")

    filler.unlink()
    badge.wait_for(state="detached", timeout=20_000)
    assert page.locator('[data-field="disk-full-message"]').count() == 0
    assert page.evaluate("window.__noReload === true")
    assert not page.errors
