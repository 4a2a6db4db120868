"""The Manager's HTTP connection handler (http_handler.ApiHandler) over real loopback HTTP.

A small WSGI app that echoes what it was given runs in a child process on
gevent's WSGIServer with the Manager's handler and server settings; the tests
speak raw HTTP/1.1 to it, so malformed requests can be sent as they are.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

SERVER = r"""
import json, logging, socket, sys, time
from gevent.pywsgi import WSGIServer
from flamenco_pkg.logsetup import setup_logging
from flamenco_pkg.manager.http_handler import ApiHandler

TURNS = [0]  # requests to /turn/... seen so far

def burn(seconds):  # holds the event loop, as a long request does (time.sleep would yield)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

class SlowClose(list):  # an answer whose close(), after it was sent, takes a while
    def close(self):
        burn(0.3)

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/busy":
        print("busy", flush=True)
        burn(0.3)
    if path.startswith("/turn/"):
        TURNS[0] += 1
        data = json.dumps({"path": path, "turn": TURNS[0]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return SlowClose([data]) if path.startswith("/turn/first") else [data]
    ws = environ.get("wsgi.websocket")
    if ws is not None:
        ws.send(ws.receive())
        ws.close()
        return []
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"part%d;" % i for i in range(3))
    if path == "/big":
        data = b"x" * 200_000
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
        return [data]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = environ["wsgi.input"].read(int(length))
    else:  # chunked, or nothing (an upgrade request's input is the raw stream: not read)
        body = environ["wsgi.input"].read() if environ["wsgi.input_terminated"] else b""
    sock = environ.get("flamenco.client_socket")
    info = {
        "method": environ["REQUEST_METHOD"], "path": path, "query": environ["QUERY_STRING"],
        "protocol": environ["SERVER_PROTOCOL"], "body": body.decode("latin-1"),
        "fields": {k: v for k, v in environ.items()
                   if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")},
        "nodelay": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) if sock is not None else None,
    }
    data = json.dumps(info).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [data]  # as Bottle does

setup_logging(quiet=False, debug=sys.argv[1] == "debug")
server = WSGIServer(("127.0.0.1", 0), app, log=None, error_log=logging.getLogger("flamenco.http"),
                    handler_class=ApiHandler)
server.pre_start_hook = lambda handler: False  # the Origin check: nothing foreign here
server.start()
print(server.server_port, flush=True)
server.serve_forever()
"""


class EchoServer:
    def __init__(self, debug: bool = False) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, "debug" if debug else "normal"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stop(self) -> str:
        """Ends the server; its log output."""
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        return err

    def connect(self) -> Conn:
        return Conn(socket.create_connection(("127.0.0.1", self.port), timeout=10))


class Conn:
    """One client connection that sends raw bytes and reads HTTP/1.1 answers."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            if not self._more():
                raise EOFError(f"connection closed; have {self.buf[:200]!r}")
        head, self.buf = self.buf.split(marker, 1)
        return head

    def read_exact(self, size: int) -> bytes:
        while len(self.buf) < size:
            if not self._more():
                raise EOFError("connection closed in a body")
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def answer(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        lines = self.read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        if head_only or status in (101, 204, 304):
            return status, headers, b""
        if "content-length" in headers:
            return status, headers, self.read_exact(int(headers["content-length"]))
        assert headers.get("transfer-encoding") == "chunked", headers
        body = b""
        while True:
            size = int(self.read_until(b"\r\n"), 16)
            if size == 0:
                self.read_until(b"\r\n")
                return status, headers, body
            body += self.read_exact(size)
            self.read_until(b"\r\n")

    def closed_by_server(self) -> bool:
        while self._more():
            pass
        return True

    def ask(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(raw)
        return self.answer()

    def echo(self, raw: bytes) -> dict:
        status, _, body = self.ask(raw)
        assert status == 200, body
        return json.loads(body)


@pytest.fixture(scope="module")
def server() -> Iterator[EchoServer]:
    srv = EchoServer()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def conn(server: EchoServer) -> Iterator[Conn]:
    c = server.connect()
    try:
        yield c
    finally:
        c.close()


def get(path: str = "/", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode("latin-1")


def test_keep_alive_serves_many_requests_on_one_connection(conn):
    for i in range(5):
        info = conn.echo(get(f"/n/{i}?q={i}"))
        assert (info["path"], info["query"]) == (f"/n/{i}", f"q={i}")
    # Two requests sent at once are both answered, in order.
    conn.sock.sendall(get("/a") + get("/b"))
    assert json.loads(conn.answer()[2])["path"] == "/a"
    assert json.loads(conn.answer()[2])["path"] == "/b"


def test_a_connection_whose_next_request_is_already_there_waits_its_turn():
    """Two Workers' requests wait while the loop is busy. Whichever is served first, its client's next
    request arrives while that answer is being finished: it must not jump ahead of the other Worker's
    request, which has waited longer (it did, and under load answers split into instant and two-round ones)."""
    srv = EchoServer()
    try:
        busy, a, b = srv.connect(), srv.connect(), srv.connect()
        busy.sock.sendall(get("/busy"))
        assert srv.proc.stdout.readline().strip() == "busy"  # the loop is held now
        a.sock.sendall(get("/turn/first-a"))
        b.sock.sendall(get("/turn/first-b"))
        turns: dict[str, int] = {}

        def worker(name: str, conn: Conn) -> None:
            turns[f"first-{name}"] = conn.echo(b"")["turn"]
            turns[f"second-{name}"] = conn.echo(get(f"/turn/second-{name}"))["turn"]

        threads = [threading.Thread(target=worker, args=pair) for pair in (("a", a), ("b", b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert busy.answer()[0] == 200
        assert len(turns) == 4, turns
        assert max(turns["first-a"], turns["first-b"]) < min(turns["second-a"], turns["second-b"]), turns
        for conn in (busy, a, b):
            conn.close()
    finally:
        srv.stop()


def test_connection_close_and_http_1_0(server):
    c = server.connect()
    status, headers, _ = c.ask(get("/", "Connection: close\r\n"))
    assert status == 200
    assert c.closed_by_server()
    c.close()
    c = server.connect()
    status, headers, _ = c.ask(b"GET / HTTP/1.0\r\n\r\n")
    assert status == 200 and headers["connection"] == "close"
    assert c.closed_by_server()
    c.close()
    c = server.connect()
    status, headers, _ = c.ask(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert headers["connection"] == "keep-alive"
    assert c.echo(b"GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")["path"] == "/again"
    c.close()


def test_header_fields_reach_the_environ(conn):
    info = conn.echo(
        b"POST /p%20q HTTP/1.1\r\nHost: localhost\r\n"
        b"X-Token:   spaced value  \t\r\n"
        b"x-dup: one\r\nX-Dup: two\r\n"
        b"Cookie: a=1\r\nCookie: b=2\r\n"
        b"X_Underscore: dropped\r\n"
        b"Content-Type: application/json\r\nContent-Type: text/plain\r\n"
        b"X-Empty:\r\n"
        b"Content-Length: 4\r\n\r\nbody")
    fields = info["fields"]
    assert info["path"] == "/p q"
    assert fields["HTTP_X_TOKEN"] == "spaced value"
    assert fields["HTTP_X_DUP"] == "one,two"
    assert fields["HTTP_COOKIE"] == "a=1; b=2"
    assert "HTTP_X_UNDERSCORE" not in fields
    assert fields["CONTENT_TYPE"] == "application/json"  # the first one, as before
    assert "HTTP_CONTENT_TYPE" not in fields and "HTTP_CONTENT_LENGTH" not in fields
    assert fields["HTTP_X_EMPTY"] == ""
    assert fields["CONTENT_LENGTH"] == "4" and info["body"] == "body"


def test_non_ascii_bytes_arrive_as_latin_1(conn):
    raw = get("/caf\xe9", "X-Name: Ren\xe9 \xff\r\n")
    assert b"\xe9" in raw
    info = conn.echo(raw)
    assert info["fields"]["HTTP_X_NAME"] == "René \xff"
    assert info["path"] == "/café"


def test_bare_lf_line_endings_and_a_block_split_across_sends(conn):
    info = conn.echo(b"GET /lf HTTP/1.1\nHost: h\nX-One: 1\n\n")
    assert (info["path"], info["fields"]["HTTP_X_ONE"]) == ("/lf", "1")
    conn.sock.sendall(b"GET /split HTTP/1.1\r\nHost: h\r\nX-Sp")
    conn.sock.sendall(b"lit: yes\r\nX-Two: 2\r\n")
    info = conn.echo(b"\r\n")
    assert (info["path"], info["fields"]["HTTP_X_SPLIT"], info["fields"]["HTTP_X_TWO"]) == ("/split", "yes", "2")


def test_folded_line_continues_the_value_after_one_space(conn):
    info = conn.echo(get("/", "X-Folded: first\r\n   second\r\n\tthird\r\nX-After: yes\r\n"))
    assert info["fields"]["HTTP_X_FOLDED"] == "first second third"
    assert info["fields"]["HTTP_X_AFTER"] == "yes"


@pytest.mark.parametrize("bad", [
    b"No colon here\r\n",
    b"Space before : colon\r\n",
    b": no name\r\n",
    b"X-Bad(name): x\r\n",
    b"X-Bare: cr\rInjected: yes\r\n",
    b"X-Nul: a\x00b\r\n",
    b" folded before any field\r\n",
])
def test_malformed_header_line_gets_400_and_the_connection_closes(server, bad):
    c = server.connect()
    try:
        c.sock.sendall(b"GET / HTTP/1.1\r\n" + bad + b"Host: localhost\r\n\r\n")
        status, _, _ = c.answer()
        assert status == 400
        assert c.closed_by_server()
    finally:
        c.close()


def test_header_size_limits(server):
    c = server.connect()
    assert c.echo(get("/", "X-Long: " + "a" * 60000 + "\r\n"))["fields"]["HTTP_X_LONG"] == "a" * 60000
    assert c.echo(get("/", "".join(f"X-H{i}: {i}\r\n" for i in range(99))))["fields"]["HTTP_X_H98"] == "98"
    c.close()
    for extra in ("X-Long: " + "a" * 70000 + "\r\n", "".join(f"X-H{i}: {i}\r\n" for i in range(101))):
        c = server.connect()
        assert c.ask(get("/", extra))[0] == 400
        c.close()


def test_content_length_rules(server):
    c = server.connect()
    same = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
    assert c.echo(same)["body"] == "abc"
    c.close()
    for bad in (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ten\r\n\r\n",
                b"HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab"):
        c = server.connect()
        assert c.ask(bad)[0] == 400, bad
        c.close()


def test_chunked_request_body_and_content_length_ignored_beside_it(conn):
    raw = (b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"
           b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    info = conn.echo(raw)
    assert info["body"] == "hello world"
    assert "CONTENT_LENGTH" not in info["fields"]
    assert conn.echo(get("/next"))["path"] == "/next"  # the connection stayed in step


def test_expect_100_continue(conn):
    conn.sock.sendall(b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    assert conn.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 100 Continue")
    conn.sock.sendall(b"data")
    status, _, body = conn.answer()
    assert status == 200 and json.loads(body)["body"] == "data"


def test_head_has_no_body(conn):
    conn.sock.sendall(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n")
    status, headers, _ = conn.answer(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0
    assert conn.echo(get("/after-head"))["path"] == "/after-head"  # no stray body bytes


def test_answers_big_streamed_and_small(conn):
    status, headers, body = conn.ask(get("/big"))
    assert status == 200 and body == b"x" * 200_000
    status, headers, body = conn.ask(get("/stream"))
    assert headers["transfer-encoding"] == "chunked" and body == b"part0;part1;part2;"
    status, headers, body = conn.ask(get("/small"))
    assert headers["content-type"] == "application/json" and headers["date"].endswith(" GMT")


def test_app_sees_its_client_socket_with_nagle_off(conn):
    assert conn.echo(get("/"))["nodelay"] == 1


def test_bad_request_line_gets_400(server):
    for raw in (b"NONSENSE\r\n\r\n", b"GET / HTTP/7.0\r\n\r\n", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"):
        c = server.connect()
        assert c.ask(raw)[0] in (400, 414)
        c.close()


def test_websocket_upgrade(conn):
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sock.sendall(get("/ws", f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"))
    status, headers, _ = conn.answer()
    assert status == 101
    expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert headers["sec-websocket-accept"] == expected.decode()
    mask = os.urandom(4)
    payload = b"ping over ws"
    conn.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                      + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    head = conn.read_exact(2)
    assert head[0] == 0x81
    assert conn.read_exact(head[1] & 0x7F) == payload


def test_upgrade_header_on_a_post_is_plain_http(conn):
    info = conn.echo(b"POST /u HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Content-Length: 2\r\n\r\nok")
    assert info["body"] == "ok" and info["fields"]["HTTP_UPGRADE"] == "websocket"


def test_access_log_lines_only_with_debug():
    quiet, loud = EchoServer(), EchoServer(debug=True)
    try:
        for srv in (quiet, loud):
            c = srv.connect()
            assert c.ask(get("/logged-path"))[0] == 200
            c.close()
    finally:
        quiet_err, loud_err = quiet.stop(), loud.stop()
    assert '"GET /logged-path HTTP/1.1" 200' in loud_err
    assert "/logged-path" not in quiet_err
