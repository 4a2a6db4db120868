"""CPU per request of the Manager's HTTP connection handler, against gevent's stock one.

A gevent WSGIServer in a child process serves a trivial WSGI app (a short JSON
answer, the request body read) through the handler under test; this process
drives it with a few keep-alive connections over loopback, sending what the
Worker's `requests` session sends. The server reports its own
user and system CPU time before and after, so the client's CPU does not count.
Variants alternate round by round, because the machine is shared and noisy.

Run: `python -m bench.bench_http_handler [--requests 20000] [--rounds 3]
[--variant stock --variant api --variant FILE.py]` (a FILE.py variant loads its
`ApiHandler` class: an older copy of http_handler.py, for before/after).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import socket
import statistics
import subprocess
import sys
import threading
from pathlib import Path

ANSWER = json.dumps({"uuid": "5c4e1b8c-1111-4c1e-9d6a-7f3e2b0f9a11", "name": "frame 0001-0010",
                     "status": "active", "commands": [{"name": "blender-render", "parameters": {}}]}).encode()
UPDATE = json.dumps({"taskStatus": "completed", "activity": "Task completed"}).encode()


def _request(method: str, path: str, body: bytes) -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "User-Agent: flamenco-worker/3.6 python-requests/2.32.3\r\n"
            "Accept-Encoding: gzip, deflate\r\n"
            "Accept: */*\r\n"
            "Connection: keep-alive\r\n"
            "Authorization: Basic d29ya2VyLTAwMDE6c2VjcmV0LXNlY3JldC1zZWNyZXQ=\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


REQUESTS = [_request("POST", "/api/v3/worker/task", b""),
            _request("POST", "/api/v3/worker/task/5c4e1b8c-1111-4c1e-9d6a-7f3e2b0f9a11", UPDATE)]


# --- server (child process) -------------------------------------------------------------------


def app(environ, start_response):
    """A trivial API endpoint: reads the body, answers a short JSON document."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        environ["wsgi.input"].read(int(length))
    body = ANSWER
    if environ["PATH_INFO"] == "/__cpu":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        body = f"{usage.ru_utime} {usage.ru_stime}".encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def handler_class(variant: str):
    if variant == "stock":
        from gevent.pywsgi import WSGIHandler

        class NoDelayHandler(WSGIHandler):
            """gevent's own, with Nagle off (else its two sends wait on delayed ACKs)."""

            def handle(self):
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return super().handle()

        return NoDelayHandler
    if variant == "api":
        from flamenco_pkg.manager.http_handler import ApiHandler

        return ApiHandler
    spec = importlib.util.spec_from_file_location("handler_variant", variant)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ApiHandler


def serve(variant: str) -> None:
    import logging

    from gevent.pywsgi import WSGIServer

    from flamenco_pkg.logsetup import setup_logging
    from flamenco_pkg.manager.config import Config
    from flamenco_pkg.manager.events.socketio import plain_http_for_foreign_origins

    setup_logging(quiet=False, debug=False)  # as the Manager runs by default
    config = Config()
    server = WSGIServer(("127.0.0.1", 0), app, log=None, error_log=logging.getLogger("flamenco.http"),
                        handler_class=handler_class(variant))
    server.pre_start_hook = plain_http_for_foreign_origins(lambda: config)
    server.start()
    print(server.server_port, flush=True)
    server.serve_forever()  # until the parent ends this process


# --- client (this process) --------------------------------------------------------------------


def _read_answer(sock: socket.socket, buf: bytearray) -> bytes:
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        buf += sock.recv(65536)
    head = bytes(buf[:end]).lower()
    start = head.index(b"content-length:") + 15
    length = int(head[start:].split(b"\r\n", 1)[0])
    while len(buf) < end + 4 + length:
        buf += sock.recv(65536)
    body = bytes(buf[end + 4:end + 4 + length])
    del buf[:end + 4 + length]
    return body


def _drive(port: int, count: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    for i in range(count):
        sock.sendall(REQUESTS[i & 1])
        _read_answer(sock, buf)
    sock.close()


def _server_cpu(port: int) -> tuple[float, float]:
    """The server's (user, system) CPU seconds so far."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /__cpu HTTP/1.1\r\nHost: x\r\n\r\n")
    user, system = map(float, _read_answer(sock, bytearray()).split())
    sock.close()
    return user, system


def measure(variant: str, requests: int, conns: int) -> tuple[float, float]:
    """Server (user, system) CPU microseconds per request for one variant."""
    child = subprocess.Popen([sys.executable, "-m", "bench.bench_http_handler", "--serve", variant],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        port = int(child.stdout.readline())
        _drive(port, 500)  # warm-up
        before = _server_cpu(port)
        threads = [threading.Thread(target=_drive, args=(port, requests // conns)) for _ in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = _server_cpu(port)
        done = requests // conns * conns
        return (after[0] - before[0]) / done * 1e6, (after[1] - before[1]) / done * 1e6
    finally:
        child.terminate()
        child.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--variant", action="append", help="stock, api or a FILE.py with ApiHandler")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--conns", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true", help="print only; do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return
    variants = args.variant or ["stock", "api"]
    results: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants if r % 2 == 0 else reversed(variants):
            results[v].append(measure(v, args.requests, args.conns))
    lines = ["server CPU per request, microseconds (median of rounds; user+system, user, system)"]
    medians = {}
    for v, runs in results.items():
        total = [u + s for u, s in runs]
        medians[v] = statistics.median(total)
        lines.append(f"{v:40s} {medians[v]:6.1f}  user {statistics.median(u for u, _ in runs):6.1f}  "
                     f"system {statistics.median(s for _, s in runs):6.1f}   (totals: {', '.join(f'{x:.1f}' for x in total)})")
    if "stock" in medians and "api" in medians:
        lines.append(f"ratio ApiHandler/gevent stock handler: {medians['api'] / medians['stock']:.2f}")
    print("http: " + "\nhttp: ".join(lines))
    if not args.no_doc and args.variant is None:
        from bench import report

        report.write_section("http", "## The Manager's HTTP connection handler (`bench/bench_http_handler.py`)\n\n"
                             f"{args.requests:,} keep-alive requests per round over {args.conns} connections, "
                             f"{args.rounds} rounds alternating the handlers; server CPU only.\n\n"
                             f"Machine: {report.machine_line()}\n\n```\n" + "\n".join(lines) + "\n```")


if __name__ == "__main__":
    main()
