"""What to believe about the other end of an HTTP request (pure; the WSGI environ in).

Forwarding headers (`X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Host`,
`X-Forwarded-Proto`) can be sent by anyone, so they count only when the
connection comes from a `trusted_proxies` address. Otherwise a Worker could
claim any address, and a page could claim to be served by the Manager.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = {"http": "80", "https": "443"}


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _ip(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: str, trusted_proxies: Iterable[str]) -> bool:
    """Whether `address` (an IP as text) is one of the configured proxies."""
    ip = _ip(address)
    if ip is None:
        return False
    return any(ip in network for network in _networks(tuple(trusted_proxies)))


def _first(value: str) -> str:
    return value.split(",")[0].strip()


def client_address(environ: Mapping[str, Any], trusted_proxies: Iterable[str]) -> str:
    """The client's IP: the socket's peer, or from a trusted proxy what it says the client was.

    `X-Forwarded-For` is read from the right, skipping trusted proxies, so a
    client cannot prepend an address of its choice; `X-Real-IP` is the fallback.
    """
    trusted = tuple(trusted_proxies)
    peer = str(environ.get("REMOTE_ADDR") or "")
    if not trusted or not is_trusted(peer, trusted):
        return peer
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        client = peer
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                break  # garbage: believe nothing further left
            client = str(ip)
            if not is_trusted(client, trusted):
                break
        return client
    real = _ip(environ.get("HTTP_X_REAL_IP", ""))
    return str(real) if real is not None else peer


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]` in lower case, without the scheme's default port."""
    origin = origin.strip().lower().rstrip("/")
    scheme, sep, host = origin.partition("://")
    if not sep:
        return origin
    port = DEFAULT_PORTS.get(scheme)
    if port and host.endswith(":" + port) and not host.endswith("]"):
        host = host[: -len(port) - 1]
    return f"{scheme}://{host}"


def own_origins(environ: Mapping[str, Any], trusted_proxies: Iterable[str]) -> set[str]:
    """The origins the Manager is being reached at: the Host the browser used, and behind a
    trusted proxy also the forwarded host and scheme."""
    scheme = str(environ.get("wsgi.url_scheme") or "http")
    origins = set()
    host = environ.get("HTTP_HOST")
    if host:
        origins.add(normalise_origin(f"{scheme}://{host}"))
    if is_trusted(str(environ.get("REMOTE_ADDR") or ""), trusted_proxies):
        fwd_host = _first(environ.get("HTTP_X_FORWARDED_HOST", "")) or host
        fwd_scheme = _first(environ.get("HTTP_X_FORWARDED_PROTO", "")) or scheme
        if fwd_host:
            origins.add(normalise_origin(f"{fwd_scheme}://{fwd_host}"))
    return origins


def origin_allowed(origin: str | None, environ: Mapping[str, Any], trusted_proxies: Iterable[str],
                   extra_origins: Iterable[str]) -> bool:
    """Whether a page from `origin` may use the Manager's live updates (Socket.IO).

    No Origin header (not a browser) is allowed: the check protects artists'
    browsers from other web sites, not the Manager from programs.
    """
    if not origin:
        return True
    wanted = normalise_origin(origin)
    if wanted in own_origins(environ, trusted_proxies):
        return True
    return wanted in {normalise_origin(extra) for extra in extra_origins}


def request_is_https(environ: Mapping[str, Any], trusted_proxies: Iterable[str]) -> bool:
    """Whether the client's request came over HTTPS: to this server, or (from a trusted
    proxy) to the proxy, by its `X-Forwarded-Proto`. Decides the session cookie's `Secure`."""
    if str(environ.get("wsgi.url_scheme") or "http").lower() == "https":
        return True
    if is_trusted(str(environ.get("REMOTE_ADDR") or ""), trusted_proxies):
        return _first(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower() == "https"
    return False
