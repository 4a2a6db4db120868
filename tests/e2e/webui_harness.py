"""Shared parts of the web UI browser tests: Chromium, a built web app, screenshots.

Browser tests drive Debian's Chromium through Playwright against a real
Manager started from the source tree (tests/integration/farm.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DIST_INDEX = REPO / "flamenco_pkg" / "webapp_dist" / "index.html"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-extensions", "--disable-sync", "--no-first-run", "--mute-audio",
]


def require_built_webapp() -> None:
    """The browser tests need the real app, not the placeholder page."""
    text = DIST_INDEX.read_text(encoding="utf-8") if DIST_INDEX.exists() else ""
    if 'id="app"' not in text:
        pytest.fail(f"the web UI is not built ({DIST_INDEX}); run `make webapp`")


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    """Saved under tests/artifacts/ (git-ignored; CI keeps it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"webui-{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    require_built_webapp()
    with sync_playwright() as pw:
        chromium = launch_chromium(pw)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page; browser console errors are collected on `page.errors`."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()
