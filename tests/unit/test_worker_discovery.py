"""SSDP messages both sides exchange, and the responder's port setting."""

from __future__ import annotations

from flamenco_pkg import discovery
from flamenco_pkg.discovery import (MANAGER_UUID, SERVICE_TYPE, base_url, description_xml, m_search,
                                    manager_location, search_reply, ssdp_endpoint, wants_manager)


def test_search_and_reply_understand_each_other():
    search = m_search("239.255.255.250", 1900)
    assert search.startswith(b"M-SEARCH * HTTP/1.1\r\n") and search.endswith(b"\r\n\r\n")
    assert b'MAN: "ssdp:discover"' in search and f"ST: {SERVICE_TYPE}".encode() in search
    assert wants_manager(search) == 3
    reply = search_reply("http://10.0.0.5:8080/upnp/description.xml")
    assert manager_location(reply) == "http://10.0.0.5:8080/upnp/description.xml"
    assert f"USN: uuid:{MANAGER_UUID}::{SERVICE_TYPE}".encode() in reply


def test_other_devices_are_ignored():
    other = (b"HTTP/1.1 200 OK\r\nST: urn:flamenco:manager:0\r\nUSN: uuid:12345678-0000-0000-0000-000000000000::"
             b"urn:flamenco:manager:0\r\nLOCATION: http://evil/\r\n\r\n")
    assert manager_location(other) is None
    assert manager_location(b"NOTIFY * HTTP/1.1\r\n\r\n") is None
    assert wants_manager(b"M-SEARCH * HTTP/1.1\r\nST: upnp:rootdevice\r\nMX: 1\r\n\r\n") is None
    assert wants_manager(b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\nMX: 99\r\n\r\n") == 5
    assert wants_manager(b"garbage") is None


def test_header_names_are_case_insensitive():
    reply = (f"HTTP/1.1 200 OK\r\nusn: uuid:{MANAGER_UUID}::{SERVICE_TYPE}\r\n"
             "location: http://m:1/upnp/description.xml\r\n\r\n").encode()
    assert manager_location(reply) == "http://m:1/upnp/description.xml"


def test_base_url_drops_the_path():
    assert base_url("http://192.168.1.4:8080/upnp/description.xml") == "http://192.168.1.4:8080/"


def test_endpoint_is_overridable(monkeypatch):
    monkeypatch.delenv("FLAMENCO_SSDP_PORT", raising=False)
    monkeypatch.delenv("FLAMENCO_SSDP_ADDRESS", raising=False)
    assert ssdp_endpoint() == ("239.255.255.250", 1900)
    monkeypatch.setenv("FLAMENCO_SSDP_PORT", "41900")
    monkeypatch.setenv("FLAMENCO_SSDP_ADDRESS", "127.0.0.1")
    assert ssdp_endpoint() == ("127.0.0.1", 41900)
    monkeypatch.setenv("FLAMENCO_SSDP_PORT", "nope")
    assert ssdp_endpoint()[1] == 1900


def test_description_xml_escapes_the_name():
    xml = description_xml("Studio <A&B>", "http://m:8080/")
    assert "<friendlyName>Studio &lt;A&amp;B&gt;</friendlyName>" in xml
    assert f"<UDN>uuid:{MANAGER_UUID}</UDN>" in xml
    assert f"<deviceType>{SERVICE_TYPE}</deviceType>" in xml


def test_responder_location_uses_the_listen_host_or_the_route_to_the_peer(monkeypatch):
    monkeypatch.setenv("FLAMENCO_SSDP_ADDRESS", "127.0.0.1")
    assert discovery.SSDPResponder("0.0.0.0", 8080).location_for("127.0.0.1") == \
        "http://127.0.0.1:8080/upnp/description.xml"
    assert discovery.SSDPResponder("10.1.2.3", 8081).location_for("127.0.0.1") == \
        "http://10.1.2.3:8081/upnp/description.xml"
