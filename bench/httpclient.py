"""A minimal keep-alive HTTP/1.1 client on gevent sockets, for load benchmarks.

Thousands of simulated Workers share one Python process, so the client must
cost far less CPU per request than the server it measures: `requests` spends
about a millisecond per call, this spends a few tens of microseconds. It uses
gevent's socket directly, so no monkey-patching is needed and the benchmark
can run in the same process as the Playwright-based ones.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import gevent
from gevent import socket

__all__ = ["HttpConn", "HttpError", "Response"]


class HttpError(Exception):
    """The connection broke or the server sent something that is not HTTP/1.1."""


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class HttpConn:
    """One persistent connection to one server, used by one greenlet at a time."""

    def __init__(self, host: str, port: int, auth: tuple[str, str] | None = None, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._buf = bytearray()
        self._auth_line = b""
        if auth:
            self.set_auth(*auth)

    def set_auth(self, user: str, password: str) -> None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._auth_line = f"Authorization: Basic {token}\r\n".encode("ascii")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self._buf.clear()

    def _connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf.clear()

    def request(self, method: str, path: str, body: Any = None) -> Response:
        """Send one request (a JSON body if `body` is not None) and read the whole answer.

        A reused connection that the server closed while idle is reopened once,
        as browsers and urllib3 do; any other failure closes the connection and
        raises HttpError (or gevent.Timeout past `timeout`).
        """
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode("ascii")
                + self._auth_line
                + (b"Content-Type: application/json\r\n" if body is not None else b"")
                + f"Content-Length: {len(payload)}\r\n\r\n".encode("ascii"))
        for attempt in (0, 1):
            reused = self.sock is not None
            if not reused:
                self._connect()
            try:
                with gevent.Timeout(self.timeout):
                    self.sock.sendall(head + payload)
                    return self._read_response(method)
            except _ClosedBeforeAnswer:
                self.close()
                if not reused or attempt:
                    raise HttpError("server closed the connection without answering") from None
            except (OSError, HttpError, gevent.Timeout):
                self.close()
                raise
        raise AssertionError("unreachable")

    # --- reading -----------------------------------------------------------------

    def _fill(self) -> bool:
        chunk = self.sock.recv(262144)
        if not chunk:
            return False
        self._buf += chunk
        return True

    def _read_response(self, method: str) -> Response:
        buf = self._buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if not self._fill():
                if not buf:
                    raise _ClosedBeforeAnswer()
                raise HttpError("connection closed in the middle of the headers")
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[:end + 4]
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise HttpError(f"not an HTTP status line: {lines[0]!r}") from None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        else:
            while self._fill():
                pass
            body = bytes(buf)
            buf.clear()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def _read_exact(self, size: int) -> bytes:
        buf = self._buf
        while len(buf) < size:
            if not self._fill():
                raise HttpError("connection closed in the middle of the body")
        body = bytes(buf[:size])
        del buf[:size]
        return body

    def _read_line(self) -> bytes:
        buf = self._buf
        while True:
            end = buf.find(b"\r\n")
            if end >= 0:
                line = bytes(buf[:end])
                del buf[:end + 2]
                return line
            if not self._fill():
                raise HttpError("connection closed in a chunked body")

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self._read_line().split(b";", 1)[0], 16)
            if size == 0:
                while self._read_line():  # trailers, then the empty line
                    pass
                return b"".join(parts)
            parts.append(self._read_exact(size))
            self._read_line()


class _ClosedBeforeAnswer(Exception):
    pass
