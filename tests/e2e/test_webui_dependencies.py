"""The web UI shows a job's dependencies and dependents with links, and the chain as a small graph."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.webui_harness import browser, page  # noqa: F401  (fixtures)
from tests.e2e.webui_harness import require_built_webapp, screenshot
from tests.integration.farm import ManagerProcess, wait_until


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Iterator[tuple[ManagerProcess, list[dict]]]:
    """A -> B -> C, with A paused so that B and C wait (no Worker needed)."""
    require_built_webapp()
    manager = ManagerProcess(tmp_path_factory.mktemp("webui-deps") / "manager").start()
    api = manager.api()
    jobs: list[dict] = []
    for name in ("bake", "render", "encode"):
        body = {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                "settings": {"message": name}}
        if jobs:
            body["depends_on"] = [jobs[-1]["id"]]
        else:
            body["initial_status"] = "paused"
        resp = api.post("/api/v3/jobs", json=body)
        assert resp.status_code == 200, resp.text
        jobs.append(resp.json())
    try:
        yield manager, jobs
    finally:
        manager.stop()


def test_job_details_show_the_chain(chain, page):
    manager, (bake, render, encode) = chain
    page.goto(f"{manager.url}/app/jobs/{render['id']}")
    details = page.locator(f'.job-details[data-job="{render["id"]}"]')
    details.locator('[data-tab="dependencies"]').click()
    depends = details.locator('[data-field="depends-on"]')
    needed = details.locator('[data-field="dependents"]')
    wait_until(lambda: "bake" in depends.inner_text() and "encode" in needed.inner_text(), what="the links")
    assert "paused" in depends.inner_text()
    graph = details.locator("svg.dep-graph")
    wait_until(lambda: graph.locator("[data-node]").count() == 3, what="three jobs in the graph")
    assert graph.locator(f'[data-edge="{bake["id"]}>{render["id"]}"]').count() == 1
    assert graph.locator(f'[data-edge="{render["id"]}>{encode["id"]}"]').count() == 1
    xs = [graph.locator(f'[data-node="{j["id"]}"]').bounding_box()["x"] for j in (bake, render, encode)]
    assert xs == sorted(xs) and len(set(xs)) == 3, xs  # left to right along the chain
    screenshot(page, "job-dependencies")

    # The dependency's link leads to its own details, which name the waiting job.
    depends.locator(f'[data-job-link="{bake["id"]}"]').click()
    page.wait_for_url(f"**/app/jobs/{bake['id']}")
    bake_details = page.locator(f'.job-details[data-job="{bake["id"]}"]')
    bake_details.locator('[data-tab="dependencies"]').click()
    wait_until(lambda: "render" in bake_details.locator('[data-field="dependents"]').inner_text(),
               what="the dependent's link")

    # The waiting job's activity names what it waits for.
    page.goto(f"{manager.url}/app/jobs/{render['id']}")
    details.locator('[data-tab="details"]').click()
    wait_until(lambda: 'Waiting for job "bake"' in details.inner_text(), what="the waiting activity")
