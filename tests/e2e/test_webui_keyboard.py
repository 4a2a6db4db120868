"""The jobs table at 1366x768: dark scrollbars, nothing to scroll sideways, keyboard selection, ARIA grid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.webui_harness import browser, screenshot  # noqa: F401  (fixture)
from tests.e2e.webui_harness import require_built_webapp
from tests.integration.farm import ManagerProcess, wait_until

NAMES = ["sh010 lighting final with a rather long name that must be cut", "sh020", "sh030", "sh040", "sh050"]


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Iterator[tuple[ManagerProcess, list[str]]]:
    require_built_webapp()
    manager = ManagerProcess(tmp_path_factory.mktemp("webui-keys") / "manager").start()
    api = manager.api()
    ids = []
    for name in NAMES:
        resp = api.post("/api/v3/jobs", json={"name": name, "type": "echo-sleep-test", "priority": 50,
                                              "submitter_platform": "linux", "settings": {"message": name}})
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["id"])
    try:
        yield manager, ids
    finally:
        manager.stop()


@pytest.fixture
def laptop_page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def open_jobs(page, manager) -> object:
    page.goto(manager.url + "/app/jobs")
    table = page.locator('.vtable[data-table="jobs"]')
    wait_until(lambda: table.get_attribute("data-rows") == str(len(NAMES)), what="every job in the table")
    return table


def test_jobs_table_fits_1366_and_is_dark(farm, laptop_page):
    manager, _ids = farm
    page = laptop_page
    table = open_jobs(page, manager)
    body = table.locator(".vtable-body")
    sizes = body.evaluate("el => [el.scrollWidth, el.clientWidth, getComputedStyle(el).overflowX]")
    assert sizes[0] <= sizes[1], f"the jobs table scrolls sideways: {sizes}"
    row = table.locator(".vtable-row").first
    assert row.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), "row cells overflow the row"
    page_sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert page_sizes[0] <= page_sizes[1], f"the page scrolls sideways: {page_sizes}"
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"
    screenshot(page, "jobs-1366x768")
    assert not page.errors, page.errors


def test_keyboard_selects_jobs_and_the_grid_is_labelled(farm, laptop_page):
    manager, ids = farm
    page = laptop_page
    table = open_jobs(page, manager)
    assert table.get_attribute("role") == "grid"
    assert table.get_attribute("aria-rowcount") == str(len(NAMES) + 1)
    headers = table.locator('[role="columnheader"]')
    assert headers.count() == 6
    assert table.locator('[role="columnheader"][aria-sort="descending"]').inner_text().startswith("Updated")

    rows_in_order = table.locator('[role="row"][aria-rowindex]:not([aria-rowindex="1"])')
    order = [rows_in_order.nth(i).get_attribute("data-id") for i in range(rows_in_order.count())]
    assert sorted(order) == sorted(ids)

    table.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    cursor = table.get_attribute("aria-activedescendant")
    assert cursor == f"jobs-row-{order[1]}"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/app/jobs/{order[1]}")
    second = table.locator(f'.vtable-row[data-id="{order[1]}"]')
    wait_until(lambda: second.get_attribute("aria-selected") == "true", what="the second job selected")
    assert "active" in second.get_attribute("class")

    # End, then Ctrl+Enter adds the last job to the selection (as Ctrl+click does).
    page.keyboard.press("End")
    assert table.get_attribute("aria-activedescendant") == f"jobs-row-{order[-1]}"
    page.keyboard.press("Control+Enter")
    wait_until(lambda: table.locator('.vtable-row[aria-selected="true"]').count() == 2, what="two jobs selected")
    page.keyboard.press("ArrowUp")
    assert table.get_attribute("aria-activedescendant") == f"jobs-row-{order[-2]}"
    assert not page.errors, page.errors
