"""The add-on's API token: sent as a bearer credential on every request, never when empty.

A small HTTP server on loopback stands in for a Manager with auth on: it
records the Authorization header of every request and answers 401 without
the right token, so the messages the artist would read are checked too.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.shaman_client import load_addon

ADDON = load_addon()
manager_api = importlib.import_module(f"{ADDON}.manager_api")
GOOD = "fl-good-token"


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str | None]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("Authorization")
        self.seen.append((self.command, self.path, auth))
        if self.path == "/api/v3/version" or auth == f"Bearer {GOOD}":
            status, body = 200, {"ok": True, "files": [], "status": "unknown", "job_types": []}
        else:
            status, body = 401, {"code": 401, "message": "authentication required"}
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def manager() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _every_call(client) -> None:
    client.version()
    client.job_types()
    client.submit_job({"name": "x"})
    client.shaman_requirements([])
    client.shaman_file_status("ab" * 32, 3)
    client.shaman_upload("ab" * 32, 3, io.BytesIO(b"abc"), can_defer=False, filename="a.blend")


def test_token_goes_on_every_request(manager):
    _Handler.seen.clear()
    _every_call(manager_api.ManagerClient(manager, token=f"  {GOOD}\n"))
    assert len(_Handler.seen) == 6
    assert {auth for _m, _p, auth in _Handler.seen} == {f"Bearer {GOOD}"}


def test_no_header_without_a_token(manager):
    _Handler.seen.clear()
    client = manager_api.ManagerClient(manager)
    assert client.version() == {"ok": True, "files": [], "status": "unknown", "job_types": []}
    with pytest.raises(manager_api.ManagerError) as caught:
        client.job_types()
    assert [auth for _m, _p, auth in _Handler.seen] == [None, None]
    assert caught.value.status == 401
    assert "Manager Token" in caught.value.message and "add-on preferences" in caught.value.message
    assert "authentication required" in caught.value.message


def test_a_refused_token_says_so(manager):
    with pytest.raises(manager_api.ManagerError) as caught:
        manager_api.ManagerClient(manager, token="revoked").submit_job({"name": "x"})
    assert caught.value.status == 401
    assert "refused the API token" in caught.value.message


def test_forbidden_shows_the_managers_reason():
    assert manager_api.auth_problem(403, "artists may change only their own jobs", True) == (
        "Not allowed by the Manager: artists may change only their own jobs")
