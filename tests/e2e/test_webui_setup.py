"""First run: the setup assistant in the browser writes a config the Manager uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.webui_harness import browser, page, screenshot  # noqa: F401  (fixtures)
from tests.integration.farm import ManagerProcess, wait_until


@pytest.fixture
def first_run_manager(tmp_path) -> Iterator[ManagerProcess]:
    manager = ManagerProcess(tmp_path / "manager")
    manager.workdir.mkdir(parents=True)
    # No shared storage yet: that is what makes it a first run.
    (manager.workdir / "flamenco-manager.yaml").write_text(
        "_meta:\n  version: 3\n"
        f"listen: '127.0.0.1:{manager.port}'\n"
        f"local_manager_storage_path: {manager.storage}\n"
        "autodiscoverable: false\n", encoding="utf-8")
    manager.start()
    try:
        yield manager
    finally:
        manager.stop()


def test_setup_assistant_saves_a_config_the_manager_uses(first_run_manager, page, tmp_path):
    manager = first_run_manager
    api = manager.api()
    assert api.get("/api/v3/configuration").json()["isFirstRun"] is True
    shared = tmp_path / "farm-share"
    shared.mkdir()

    page.goto(manager.url + "/")
    page.locator('[data-step="welcome"]').wait_for()
    assert page.url.endswith("/app/setup")
    screenshot(page, "setup-welcome")
    page.locator('[data-action="setup-next"]').click()

    # A folder that does not exist is refused, with the reason shown.
    page.fill('input[name="storage-path"]', str(tmp_path / "missing"))
    page.locator('[data-action="setup-next"]').click()
    check = page.locator('[data-field="storage-check"]')
    check.wait_for()
    assert page.locator('[data-step="storage"]').is_visible()
    assert "error" in (check.get_attribute("class") or "")

    page.fill('input[name="storage-path"]', str(shared))
    page.locator('[data-action="setup-next"]').click()
    page.locator('[data-step="blender"]').wait_for()

    page.locator('input[name="blender-path"]').fill("/usr/bin/blender")
    page.locator('input[name="blender"][value="custom"]').check()
    page.locator('[data-action="setup-next"]').click()
    page.locator('[data-step="review"]').wait_for(timeout=30_000)
    assert page.locator('[data-field="review-storage"]').inner_text() == str(shared)
    assert page.locator('[data-field="review-blender"]').inner_text() == "/usr/bin/blender"
    screenshot(page, "setup-review")

    page.locator('[data-action="setup-save"]').click()
    # Once the Manager reports the new configuration, the app opens the jobs view.
    page.wait_for_url(f"{manager.url}/app/", timeout=30_000)
    page.locator('[data-nav="jobs"]').wait_for()
    assert not page.errors, page.errors

    conf = api.get("/api/v3/configuration").json()
    assert conf["isFirstRun"] is False
    assert conf["storageLocation"].startswith(str(shared))
    blender = api.get("/api/v3/configuration/variables/workers/linux").json()["blender"]
    assert blender["value"] == "/usr/bin/blender"

    # The choices are in the file: a restarted Manager starts with them.
    manager.stop()
    manager.start()
    conf = api.get("/api/v3/configuration").json()
    assert conf["isFirstRun"] is False
    assert conf["storageLocation"].startswith(str(shared))
    wait_until(lambda: "farm-share" in (manager.workdir / "flamenco-manager.yaml").read_text(), deadline_s=1,
               what="the shared storage in the config file")
