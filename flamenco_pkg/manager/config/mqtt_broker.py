"""The `mqtt.client.broker` setting: a URL such as tcp://mqtt.local:1883, understood without I/O."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

# scheme -> (TLS, transport, default port)
SCHEMES = {
    "tcp": (False, "tcp", 1883),
    "mqtt": (False, "tcp", 1883),
    "ssl": (True, "tcp", 8883),
    "tls": (True, "tcp", 8883),
    "mqtts": (True, "tcp", 8883),
    "ws": (False, "websockets", 80),
    "wss": (True, "websockets", 443),
}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    transport: str = "tcp"  # or "websockets"
    path: str = "/mqtt"  # websockets only

    def __str__(self) -> str:
        scheme = {("tcp", False): "tcp", ("tcp", True): "ssl",
                  ("websockets", False): "ws", ("websockets", True): "wss"}[(self.transport, self.tls)]
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = self.path if self.transport == "websockets" else ""
        return f"{scheme}://{host}:{self.port}{path}"


def parse_broker(url: str) -> BrokerAddress:
    """BrokerAddress for `url`; ValueError with a message for the user when it is not usable.

    As upstream: `tcp://host:1883` (also mqtt://), TLS with ssl://, tls:// or
    mqtts://, MQTT over websockets with ws:// or wss://. Without a scheme,
    `host:port` means tcp.
    """
    text = url.strip()
    if not text:
        raise ValueError("give the broker's address, like tcp://mqtt.example:1883")
    if "://" not in text:
        text = "tcp://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"{url!r} has scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    tls, transport, default_port = SCHEMES[scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError(f"{url!r} does not have a valid port number") from None
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{url!r} does not name a host")
    path = (parts.path or "/mqtt") if transport == "websockets" else "/mqtt"
    return BrokerAddress(host=host, port=port, tls=tls, transport=transport, path=path)
