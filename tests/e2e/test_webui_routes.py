"""How the Manager serves the web UI and Swagger UI (plain HTTP, no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.webui_harness import require_built_webapp
from tests.integration.farm import ManagerProcess


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> Iterator[str]:
    require_built_webapp()
    manager = ManagerProcess(tmp_path_factory.mktemp("webui-routes") / "manager").start()
    try:
        yield manager.url
    finally:
        manager.stop()


def get(url: str, path: str) -> requests.Response:
    return requests.get(url + path, allow_redirects=False, timeout=10)


@pytest.mark.parametrize("path", ["/", "/app"])
def test_root_redirects_to_the_app(url, path):
    resp = get(url, path)
    assert resp.status_code == 307
    assert resp.headers["Location"].endswith("/app/")


@pytest.mark.parametrize("path", ["/app/", "/app/jobs", "/app/jobs/0b6d4f3e-2f7a-4a6b-9d1e-2d6f0c1b7a10/x",
                                  "/app/workers/abc", "/app/settings"])
def test_app_routes_get_the_single_page_app(url, path):
    resp = get(url, path)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert '<div id="app">' in resp.text
    assert resp.headers["Cache-Control"] == "no-cache"


def test_built_assets_are_served_with_their_type_and_kept_by_browsers(url):
    index = get(url, "/app/").text
    scripts = re.findall(r'src="(/app/assets/[^"]+\.js)"', index)
    styles = re.findall(r'href="(/app/assets/[^"]+\.css)"', index)
    assert scripts and styles
    js = get(url, scripts[0])
    assert js.status_code == 200
    assert js.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in js.headers["Cache-Control"]
    assert get(url, styles[0]).headers["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("path", [
    "/app/assets/missing-1234.js",          # a missing file is not the app
    "/app/../pyproject.toml",
    "/app/%2e%2e/%2e%2e/pyproject.toml",
    "/app/assets/%2e%2e/%2e%2e/manager/app.py",
    "/app/..%2f..%2fpyproject.toml",
    "/app/.hidden",
    "/app/swagger-ui/index.html",           # Swagger UI has its own address
    "/api/v3/swagger-ui/../../webapp_dist/index.html",
    "/api/v3/swagger-ui/%2e%2e/index.html",
])
def test_paths_never_leave_the_dist_folder(url, path):
    resp = requests.get(url + path, allow_redirects=False, timeout=10)
    # Either refused, or (for paths a client would normalise) the app itself: never a file outside.
    assert resp.status_code in (404, 200), resp.status_code
    if resp.status_code == 200:
        assert '<div id="app">' in resp.text
    assert "[project]" not in resp.text and "def build_app" not in resp.text


def test_swagger_ui_is_served_over_the_managers_spec(url):
    page = get(url, "/api/v3/swagger-ui/")
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text
    init = get(url, "/api/v3/swagger-ui/init.js")
    assert init.status_code == 200
    assert "/api/v3/openapi3.json" in init.text
    bundle = get(url, "/api/v3/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    spec = get(url, "/api/v3/openapi3.json").json()
    assert "/api/v3/jobs" in spec["paths"]
    assert get(url, "/api/v3/swagger-ui").status_code == 307
