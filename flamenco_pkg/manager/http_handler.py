"""The Manager's HTTP connection handler: gevent's WSGI handler with WebSocket upgrades,
tuned for many small answers.

Every answer to a Worker is a few hundred bytes. gevent writes the headers and
the body with two `send()` calls; on loopback a send costs about as much as the
SQL of a short request, and without TCP_NODELAY the second write waits for the
client's delayed ACK (~40 ms). So a small whole answer goes out in one write,
and Nagle's algorithm is off for the rest (big bodies, streamed answers).

Reading a request is cheap too: gevent parses the header block with the e-mail
package (a third of its per-request work); `read_header_fields` reads the lines
itself into a small `RequestHeaders`, and a header block that is not HTTP gets
a 400. Requests that do not ask for a WebSocket skip gevent-websocket's upgrade
checks, and the access-log line is only formatted when someone will see it
(the Manager's -debug).

Under load every connection takes its turn: a request that is already there
when the previous answer on its connection is done waits for the event loop's
next poll, like requests on other connections, instead of being served at once.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable
from typing import BinaryIO

from gevent.pywsgi import Input, WSGIHandler, format_date_time, unquote_latin1
from geventwebsocket.handler import WebSocketHandler

_PEEK_NOW = int(socket.MSG_PEEK | socket.MSG_DONTWAIT)  # a plain int: `|` of the enum flags is slow
ONE_WRITE_MAX = 64 * 1024  # bodies up to this size are copied behind their headers
MAX_HEADER_LINE = 65536  # one header line, as Python's http.client allows (gevent's limit before)
MAX_HEADER_LINES = 100  # header lines in one request, likewise

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a field name (RFC 9110 token)


class RequestHeaders:
    """A request's header fields in arrival order, answering the questions gevent's
    handler and gevent-websocket ask of the e-mail message they used to get.

    Lookups are case-insensitive and give the first field of that name, as before.
    `status` is non-empty when the header block was not valid HTTP (gevent answers 400).
    """

    __slots__ = ("fields", "status", "_first")

    def __init__(self, fields: list[tuple[str, str]], status: str = "") -> None:
        self.fields = fields
        self.status = status
        self._first = {name.lower(): value for name, value in reversed(fields)}  # the first one wins

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name.lower(), default)

    getheader = get

    def __getitem__(self, name: str) -> str | None:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __delitem__(self, name: str) -> None:
        """Removes every field of that name (none is no error)."""
        key = name.lower()
        if self._first.pop(key, None) is not None:
            self.fields = [(n, v) for n, v in self.fields if n.lower() != key]

    @property
    def typeheader(self) -> str | None:
        return self._first.get("content-type")

    @property
    def headers(self) -> list[str]:
        """The fields as `Name: value\\r\\n` lines (gevent's old message API, read by its `_headers`)."""
        return [f"{name}: {value}\r\n" for name, value in self.fields]


def read_header_fields(fp: BinaryIO) -> RequestHeaders:
    """Reads a request's header lines up to the empty line that ends them, from a buffered reader.

    Values are decoded as Latin-1 (as WSGI wants) without the spaces and tabs
    around them; an obsolete folded line continues the previous value after one
    space. Not HTTP, so `status` says why: a line without a colon or with a
    name that is not a token (white space before the colon), a CR or NUL inside
    a line, a fold before any field, a line over 64 KiB, over 100 lines, or two
    different Content-Lengths (a request-smuggling trick).
    """
    # Usually the whole block is in the read buffer already: check and split it at once.
    peek = getattr(fp, "peek", None)
    if peek is not None:
        buffered = peek()
        if buffered[:2] == b"\r\n":
            fp.read(2)
            return RequestHeaders([])
        end = buffered.find(b"\r\n\r\n") + 4
        if end > 4 and _PLAIN_BLOCK.fullmatch(buffered, 0, end):
            lines = fp.read(end)[:-4].decode("latin-1").split("\r\n")
            if len(lines) > MAX_HEADER_LINES:
                return RequestHeaders([], f"more than {MAX_HEADER_LINES} header lines")
            return _checked([(name, value.strip(" \t"))
                             for name, _, value in (line.partition(":") for line in lines)])
    return _checked_lines(fp.readline)


# A header block of well-formed lines ending in CRLF: no folds, no bare CR, no NUL.
_PLAIN_BLOCK = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\0]*\r\n)+\r\n")


def _checked(fields: list[tuple[str, str]]) -> RequestHeaders:
    headers = RequestHeaders(fields)
    if len(fields) > len(headers._first):  # some name came twice
        lengths = {value for name, value in fields if name.lower() == "content-length"}
        if len(lengths) > 1:
            return RequestHeaders([], f"conflicting Content-Length values {sorted(lengths)!r}")
    return headers


def _checked_lines(readline: Callable[[int], bytes]) -> RequestHeaders:
    """The header block line by line: any line ending, folds, and the reasons for a 400."""
    fields: list[tuple[str, str]] = []
    lines = 0
    while True:
        raw = readline(MAX_HEADER_LINE + 1)
        if len(raw) > MAX_HEADER_LINE:
            return RequestHeaders([], "Line too long")
        if raw == b"\r\n" or raw == b"\n" or not raw:  # the end (or the client hung up)
            break
        lines += 1
        if lines > MAX_HEADER_LINES:
            return RequestHeaders([], f"more than {MAX_HEADER_LINES} header lines")
        line = raw.decode("latin-1").rstrip("\r\n")
        if "\r" in line or "\0" in line:
            return RequestHeaders([], f"CR or NUL inside a header line: {line[:80]!r}")
        if line[:1] in (" ", "\t"):
            if not fields:
                return RequestHeaders([], f"folded line before any header: {line[:80]!r}")
            name, value = fields[-1]
            more = line.strip(" \t")
            fields[-1] = (name, f"{value} {more}" if value and more else value or more)
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            return RequestHeaders([], f"malformed header line: {line[:80]!r}")
        fields.append((name, value.strip(" \t")))
    return _checked(fields)


_ENV_KEYS: dict[str, str | None] = {}  # field name -> WSGI environ key (None: dropped)
_ENV_KEYS_MAX = 512  # names seen from clients; past this, computed each time


def _env_key(name: str) -> str | None:
    key = _ENV_KEYS.get(name, "")
    if key == "":
        if "_" in name:  # gevent drops these: X_Foo would pass for X-Foo behind a proxy
            key = None
        else:
            key = name.upper().replace("-", "_")
            key = None if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
        if len(_ENV_KEYS) < _ENV_KEYS_MAX:
            _ENV_KEYS[name] = key
    return key


class _DateHeader:
    """The `Date` header value, formatted once a second rather than once an answer."""

    second = -1
    value = b""

    @classmethod
    def now(cls) -> bytes:
        now = time.time()
        second = int(now)
        if second != cls.second:
            cls.value = format_date_time(now)
            cls.second = second
        return cls.value


class ApiHandler(WebSocketHandler):
    """One client connection; lets a held request see its client's socket (hang-up watch)."""

    def handle(self):
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test's socket pair)
        return super().handle()

    def handle_one_request(self):
        self._wait_turn()
        return super().handle_one_request()

    def _wait_turn(self) -> None:
        """A request that is already waiting goes through the event loop's next poll like any other.

        Without this, a Worker whose next request arrived while its last answer
        was being finished was served at once, ahead of connections that had
        waited a whole round of the loop: under load, answers split into
        instant ones and ones that took two rounds (see docs/benchmarks.md).
        One non-blocking peek (a few microseconds) decides; a request that is
        not there yet is waited for through the poll anyway.
        """
        raw = getattr(self.socket, "_sock", None)  # gevent's socket around the OS one
        if raw is None:
            return
        try:
            waiting = raw.recv(1, _PEEK_NOW)
        except OSError:  # nothing yet (EAGAIN), or the connection is gone: the read will tell
            return
        if waiting:
            self.socket._wait(self.socket._read_event)

    def MessageClass(self, fp, *args):  # noqa: N802 - gevent's name
        return read_header_fields(fp)

    def get_environ(self):
        # gevent's get_environ, reading the parsed fields directly.
        env = self.server.get_environ()
        env["REQUEST_METHOD"] = self.command
        env["SCRIPT_NAME"] = ""
        path, _, query = self.path.partition("?")
        env["PATH_INFO"] = unquote_latin1(path)
        env["QUERY_STRING"] = query
        headers = self.headers
        content_type = headers.typeheader
        if content_type is not None:
            env["CONTENT_TYPE"] = content_type
        length = headers.get("content-length")
        if length:
            env["CONTENT_LENGTH"] = length
        env["SERVER_PROTOCOL"] = self.request_version
        client_address = self.client_address
        if isinstance(client_address, tuple):
            env["REMOTE_ADDR"] = str(client_address[0])
            env["REMOTE_PORT"] = str(client_address[1])
        for name, value in headers.fields:
            key = _env_key(name)
            if key is None:
                continue
            if key in env:
                env[key] += ("; " if "COOKIE" in key else ",") + value
            else:
                env[key] = value
        sock = self.socket if env.get("HTTP_EXPECT") == "100-continue" else None
        chunked = env.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        # An upgrade request has neither a length nor chunks: its reads go to the raw stream.
        handling_reads = not self._connection_upgrade_requested()
        self.wsgi_input = Input(self.rfile, self.content_length, socket=sock, chunked_input=chunked)
        env["wsgi.input"] = self.wsgi_input if handling_reads else self.rfile
        env["wsgi.input_terminated"] = handling_reads
        env["flamenco.client_socket"] = self.socket
        return env

    def run_application(self):
        # gevent-websocket would ask the pre-start hook (the Origin check) and try an
        # upgrade first; a request that is no WebSocket GET ends up in the app either way.
        environ = self.environ
        if environ["REQUEST_METHOD"] != "GET" or environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return WSGIHandler.run_application(self)
        return super().run_application()

    def log_request(self):
        # The access-log line goes to gevent-websocket's logger at INFO: formatting it
        # costs as much as parsing the request, and the Manager shows it with -debug only.
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request()

    def finalize_headers(self):
        if self.provided_date is None:
            self.provided_date = True  # gevent's finalize_headers then adds none
            self.response_headers.append((b"Date", _DateHeader.now()))
        super().finalize_headers()

    def _write_with_headers(self, data):
        # An upgrade (no body) and a big body take gevent's way.
        if not data or len(data) > ONE_WRITE_MAX:
            return super()._write_with_headers(data)
        self.headers_sent = True
        self.finalize_headers()  # decides response_use_chunked
        towrite = bytearray(b"HTTP/1.1 ")
        towrite += self.status
        towrite += b"\r\n"
        for header, value in self.response_headers:
            towrite += header
            towrite += b": "
            towrite += value
            towrite += b"\r\n"
        towrite += b"\r\n"
        if self.response_use_chunked:
            towrite += b"%x\r\n" % len(data)
            towrite += data
            towrite += b"\r\n"
        else:
            towrite += data
        # One send: an answer this small fits the socket's buffer. gevent's sendall
        # asks the socket for its buffer size first, a system call per answer.
        try:
            sent = self.socket.send(towrite)
        except OSError:
            sent = 0  # sendall meets the error again and records it as gevent does
        self.response_length += sent
        if sent < len(towrite):
            self._sendall(memoryview(towrite)[sent:])
