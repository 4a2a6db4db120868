"""Security over real HTTP (issue 12): Socket.IO's Origin check and forged forwarding headers."""

from __future__ import annotations

import pytest
import requests
import websocket

from tests.integration.farm import ManagerProcess, ScriptedWorker


def polling_handshake(url: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=headers,
                        timeout=10)


def websocket_handshake(url: str, origin: str) -> str:
    """The engine.io open packet over a WebSocket opened with this Origin; raises when refused."""
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                     origin=origin, timeout=10)
    try:
        return ws.recv()
    finally:
        ws.close()


@pytest.fixture
def proxied(tmp_path):
    """A Manager behind a (pretend) reverse proxy on loopback, with one extra allowed origin."""
    proc = ManagerProcess(tmp_path / "proxied", extra_config=(
        "trusted_proxies: ['127.0.0.1']\nallowed_origins: ['https://studio.example']\n")).start()
    yield proc
    proc.stop()


def test_socketio_handshake_refuses_foreign_origins(manager):
    own = manager.url  # http://127.0.0.1:<port>: the Host the browser used
    assert polling_handshake(manager.url, {"Origin": own}).status_code == 200
    assert polling_handshake(manager.url, {}).status_code == 200  # not a browser: no Origin
    for foreign in ["http://evil.example", "http://127.0.0.1:1", "null"]:
        resp = polling_handshake(manager.url, {"Origin": foreign})
        assert resp.status_code == 400, (foreign, resp.text)
        assert "Access-Control-Allow-Origin" not in resp.headers

    assert websocket_handshake(manager.url, own).startswith("0{")  # engine.io "open"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket_handshake(manager.url, "http://evil.example")
    assert refused.value.status_code == 400
    # Forwarded headers from an untrusted peer do not make a foreign origin "own".
    resp = polling_handshake(manager.url, {"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example",
                                           "X-Forwarded-Proto": "https"})
    assert resp.status_code == 400
    assert manager.log_text().count("live-update connection from a page at http://evil.example refused") == 1


def test_configured_and_forwarded_origins_are_accepted(proxied):
    assert polling_handshake(proxied.url, {"Origin": "https://studio.example"}).status_code == 200
    assert websocket_handshake(proxied.url, "https://studio.example").startswith("0{")
    behind_proxy = {"Origin": "https://farm.example", "X-Forwarded-Host": "farm.example",
                    "X-Forwarded-Proto": "https"}
    assert polling_handshake(proxied.url, behind_proxy).status_code == 200
    assert polling_handshake(proxied.url, {"Origin": "http://evil.example"}).status_code == 400


def worker_address(api, worker: ScriptedWorker) -> str:
    return api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()["ip_address"]


def test_forged_forwarding_headers_are_ignored(manager, api):
    worker = ScriptedWorker(manager.url, name="liar")
    worker.api.session.headers.update({"X-Forwarded-For": "10.6.6.6", "X-Real-IP": "10.6.6.7"})
    worker.start()
    assert worker_address(api, worker) == "127.0.0.1"


def test_forwarding_headers_from_a_trusted_proxy_are_believed(proxied):
    api = proxied.api()
    worker = ScriptedWorker(proxied.url, name="behind-proxy")
    # The client prepended a forged hop; the proxy appended the address it saw.
    worker.api.session.headers.update({"X-Forwarded-For": "10.6.6.6, 192.168.5.20"})
    worker.start()
    assert worker_address(api, worker) == "192.168.5.20"
    worker.api.session.headers.clear()
    worker.api.session.headers.update({"X-Real-IP": "192.168.5.21"})
    worker.sign_on()
    assert worker_address(api, worker) == "192.168.5.21"
