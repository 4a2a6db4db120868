"""Forwarding headers count only from trusted proxies; Socket.IO origins: own address and configured ones."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.http_peer import client_address, normalise_origin, origin_allowed, own_origins


def env(peer: str = "192.168.1.20", host: str = "farm.lan:8080", **headers: str) -> dict:
    environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http", "HTTP_HOST": host}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return environ


def test_forwarded_headers_ignored_without_trusted_proxies():
    assert client_address(env(x_forwarded_for="10.0.0.9"), []) == "192.168.1.20"
    assert client_address(env(x_real_ip="10.0.0.9"), []) == "192.168.1.20"
    # ...and from a peer that is not one of the trusted proxies.
    assert client_address(env(x_forwarded_for="10.0.0.9"), ["192.168.1.1"]) == "192.168.1.20"


@pytest.mark.parametrize("forwarded, expected", [
    ("10.0.0.9", "10.0.0.9"),
    ("6.6.6.6, 10.0.0.9", "10.0.0.9"),  # a client-supplied first hop is not believed
    ("10.0.0.9, 192.168.1.1", "10.0.0.9"),  # through a second trusted proxy
    ("192.168.1.1", "192.168.1.1"),  # only proxies: the leftmost
    ("garbage, 10.0.0.9", "10.0.0.9"),
    ("10.0.0.9, garbage", "192.168.1.20"),  # garbage right after the proxy: believe nothing further
    ("2001:db8::5", "2001:db8::5"),
])
def test_x_forwarded_for_from_a_trusted_proxy(forwarded, expected):
    assert client_address(env(peer="192.168.1.20", x_forwarded_for=forwarded),
                          ["192.168.1.0/24"]) == expected


def test_x_real_ip_and_mapped_addresses():
    trusted = ["127.0.0.1"]
    assert client_address(env(peer="127.0.0.1", x_real_ip="10.0.0.9"), trusted) == "10.0.0.9"
    assert client_address(env(peer="127.0.0.1", x_real_ip="nonsense"), trusted) == "127.0.0.1"
    assert client_address(env(peer="::ffff:127.0.0.1", x_real_ip="10.0.0.9"), trusted) == "10.0.0.9"
    assert client_address(env(peer="127.0.0.1"), trusted) == "127.0.0.1"


def test_normalise_origin():
    assert normalise_origin("HTTP://Farm.LAN:80/") == "http://farm.lan"
    assert normalise_origin("https://farm.lan:443") == "https://farm.lan"
    assert normalise_origin("https://farm.lan:8443") == "https://farm.lan:8443"
    assert normalise_origin("http://[::1]:8080") == "http://[::1]:8080"


def test_own_origin_is_the_host_the_browser_used():
    assert origin_allowed("http://farm.lan:8080", env(), [], [])
    assert origin_allowed(None, env(), [], [])  # not a browser
    for foreign in ["http://evil.example", "http://farm.lan:8081", "https://farm.lan:8080", "null"]:
        assert not origin_allowed(foreign, env(), [], []), foreign
    assert origin_allowed("https://studio.example", env(), [], ["https://studio.example"])


def test_forwarded_host_counts_only_from_a_trusted_proxy():
    forwarded = env(peer="127.0.0.1", host="127.0.0.1:8080", x_forwarded_host="farm.example",
                    x_forwarded_proto="https")
    assert not origin_allowed("https://farm.example", forwarded, [], [])
    assert origin_allowed("https://farm.example", forwarded, ["127.0.0.1"], [])
    assert own_origins(forwarded, ["127.0.0.1"]) == {"http://127.0.0.1:8080", "https://farm.example"}
