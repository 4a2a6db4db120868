"""UPnP/SSDP autodiscovery: Workers find their Manager on the local network.

Both halves live here because they must agree on every detail: the Worker
multicasts an `M-SEARCH` for `urn:flamenco:manager:0`, the Manager answers
with a `LOCATION` URL, and the Worker keeps the first Manager whose
`/api/v3/version` answers. The fixed UUID is the one Flamenco Managers
announce, so our Worker finds theirs and theirs finds ours.

`FLAMENCO_SSDP_PORT` and `FLAMENCO_SSDP_ADDRESS` (read only in
`ssdp_endpoint`) move the conversation off 239.255.255.250:1900, for tests
on loopback and for sites that must keep port 1900 free.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import os
import platform
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from flamenco_pkg import __version__

log = logging.getLogger("flamenco.discovery")

MANAGER_UUID = "aa80bc5f-d0af-46b8-8630-23bd7e80ec4d"
SERVICE_TYPE = "urn:flamenco:manager:0"
USN = f"uuid:{MANAGER_UUID}::{SERVICE_TYPE}"
DESCRIPTION_PATH = "/upnp/description.xml"
DEFAULT_ADDRESS = "239.255.255.250"
DEFAULT_PORT = 1900
MX = 3


class DiscoveryError(Exception):
    """No usable Manager answered."""


def ssdp_endpoint() -> tuple[str, int]:
    """Where M-SEARCH goes and the responder listens: the multicast group and port."""
    address = os.environ.get("FLAMENCO_SSDP_ADDRESS", "").strip() or DEFAULT_ADDRESS
    port_text = os.environ.get("FLAMENCO_SSDP_PORT", "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        log.warning("FLAMENCO_SSDP_PORT=%r is not a port number; using %d", port_text, DEFAULT_PORT)
        port = DEFAULT_PORT
    return address, port


def _is_multicast(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_multicast
    except ValueError:
        return False


# --- messages ------------------------------------------------------------

def m_search(address: str, port: int, mx: int = MX) -> bytes:
    return ("M-SEARCH * HTTP/1.1\r\n"
            f"HOST: {address}:{port}\r\n"
            f'MAN: "ssdp:discover"\r\n'
            f"MX: {mx}\r\n"
            f"ST: {SERVICE_TYPE}\r\n"
            "\r\n").encode("ascii")


def parse_message(data: bytes) -> tuple[str, dict[str, str]]:
    """Start line and headers (names upper-cased) of an SSDP datagram."""
    text = data.decode("utf-8", "replace")
    lines = text.replace("\r\n", "\n").split("\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            break
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().upper()] = value.strip()
    return lines[0].strip(), headers


def manager_location(data: bytes) -> str | None:
    """The LOCATION of a reply from a Flamenco Manager; None for anything else."""
    start, headers = parse_message(data)
    if not start.upper().startswith("HTTP/"):
        return None
    usn_id = headers.get("USN", "").split("::", 1)[0]
    if usn_id.lower() != f"uuid:{MANAGER_UUID}":
        return None
    return headers.get("LOCATION") or None


def base_url(location: str) -> str:
    """The Manager's root URL: the LOCATION with its path replaced by `/`."""
    parts = urlsplit(location)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def search_reply(location: str) -> bytes:
    return ("HTTP/1.1 200 OK\r\n"
            "CACHE-CONTROL: max-age=3600\r\n"
            f"DATE: {email.utils.formatdate(usegmt=True)}\r\n"
            "EXT:\r\n"
            f"LOCATION: {location}\r\n"
            f"SERVER: {platform.system()}/{platform.release()} UPnP/1.0 Flamenco/{__version__}\r\n"
            f"ST: {SERVICE_TYPE}\r\n"
            f"USN: {USN}\r\n"
            "\r\n").encode("utf-8")


def wants_manager(data: bytes) -> int | None:
    """For an M-SEARCH looking for a Flamenco Manager: its MX (seconds to spread replies over)."""
    start, headers = parse_message(data)
    if not start.upper().startswith("M-SEARCH"):
        return None
    if headers.get("ST") not in (SERVICE_TYPE, "ssdp:all"):
        return None
    try:
        return max(0, min(int(headers.get("MX", "1")), 5))
    except ValueError:
        return 1


def description_xml(manager_name: str, root_url: str) -> str:
    """The UPnP device description served at /upnp/description.xml."""
    name, root = escape(manager_name), escape(root_url)
    return ('<?xml version="1.0"?>\n'
            '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
            "  <specVersion><major>1</major><minor>0</minor></specVersion>\n"
            f"  <URLBase>{root}</URLBase>\n"
            "  <device>\n"
            f"    <deviceType>{SERVICE_TYPE}</deviceType>\n"
            f"    <friendlyName>{name}</friendlyName>\n"
            "    <manufacturer>Flamenco</manufacturer>\n"
            "    <modelName>Flamenco Manager</modelName>\n"
            f"    <modelNumber>{__version__}</modelNumber>\n"
            f"    <UDN>uuid:{MANAGER_UUID}</UDN>\n"
            f"    <presentationURL>{root}</presentationURL>\n"
            "  </device>\n"
            "</root>\n")


# --- Worker side ----------------------------------------------------------

def _probe(url: str) -> bool:
    import requests

    try:
        resp = requests.get(url + "api/v3/version", timeout=5)
        resp.json()
        return resp.status_code == 200
    except (requests.RequestException, ValueError):
        return False


def collect_locations(timeout_s: float, stop: threading.Event | None = None) -> list[str]:
    """Send M-SEARCH every second until a Manager answers; LOCATIONs in arrival order."""
    address, port = ssdp_endpoint()
    message = m_search(address, port)
    found: list[str] = []
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        if _is_multicast(address):
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        sends = 0
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                break
            if sends and found:
                break
            try:
                sock.sendto(message, (address, port))
            except OSError as exc:
                log.debug("M-SEARCH to %s:%d failed: %s", address, port, exc)
            sends += 1
            until = min(deadline, time.monotonic() + 1.0)
            while (left := until - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, _peer = sock.recvfrom(4096)
                except (socket.timeout, BlockingIOError):
                    break
                except OSError:
                    break
                location = manager_location(data)
                if location and location not in found:
                    log.debug("a Manager answered: %s", location)
                    found.append(location)
    return found


def find_manager(timeout_s: float, stop: threading.Event | None = None,
                 probe: Callable[[str], bool] = _probe) -> str:
    """URL of the first Manager found that answers its version endpoint."""
    address, port = ssdp_endpoint()
    log.info("looking for a Manager with UPnP/SSDP on %s:%d", address, port)
    locations = collect_locations(timeout_s, stop)
    if not locations:
        raise DiscoveryError(f"no Flamenco Manager answered within {timeout_s:g} s")
    urls = list(dict.fromkeys(base_url(loc) for loc in locations))
    with ThreadPoolExecutor(max_workers=min(8, len(urls))) as pool:
        usable = list(pool.map(probe, urls))
    for url, ok in zip(urls, usable):
        if ok:
            return url
    raise DiscoveryError("Managers answered at " + ", ".join(urls) + ", but none of them is usable")


# --- Manager side ---------------------------------------------------------

def local_address_towards(peer: str) -> str:
    """The address of this machine that `peer` reaches it on (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((peer, 9))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class SSDPResponder:
    """Answers M-SEARCH for Flamenco Managers with this Manager's description URL."""

    def __init__(self, http_host: str, http_port: int) -> None:
        self.http_host = "" if http_host in ("", "0.0.0.0", "::") else http_host
        self.http_port = http_port
        self.address, self.port = ssdp_endpoint()
        self.sock: socket.socket | None = None

    def bind(self) -> None:
        """Open the UDP socket; raises OSError when the port cannot be had."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            multicast = _is_multicast(self.address)
            sock.bind(("" if multicast else self.address, self.port))
            if multicast:
                mreq = struct.pack("4s4s", socket.inet_aton(self.address), socket.inet_aton("0.0.0.0"))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        except OSError:
            sock.close()
            raise
        self.sock = sock

    def location_for(self, peer: str) -> str:
        host = self.http_host or local_address_towards(peer)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.http_port}{DESCRIPTION_PATH}"

    def serve_forever(self) -> None:
        assert self.sock is not None
        log.info("answering UPnP/SSDP searches on %s:%d", self.address, self.port)
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError as exc:
                log.warning("SSDP responder stopped: %s", exc)
                return
            mx = wants_manager(data)
            if mx is None:
                continue
            reply = search_reply(self.location_for(peer[0]))
            # Spread replies over MX seconds, as SSDP asks, so many Managers don't answer at once.
            timer = threading.Timer(random.uniform(0, mx), self._send, (reply, peer))
            timer.daemon = True
            timer.start()

    def _send(self, reply: bytes, peer: tuple[str, int]) -> None:
        try:
            assert self.sock is not None
            self.sock.sendto(reply, peer)
        except OSError as exc:
            log.debug("SSDP reply to %s failed: %s", peer[0], exc)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
