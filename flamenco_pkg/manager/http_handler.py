"""The Manager's HTTP connection handler: gevent's WSGI handler with WebSocket upgrades,
tuned for many small answers.

Every answer to a Worker is a few hundred bytes. gevent writes the headers and
the body with two `send()` calls; on loopback a send costs about as much as the
SQL of a short request, and without TCP_NODELAY the second write waits for the
client's delayed ACK (~40 ms). So a small whole answer goes out in one write,
and Nagle's algorithm is off for the rest (big bodies, streamed answers).
"""

from __future__ import annotations

import socket

from geventwebsocket.handler import WebSocketHandler

ONE_WRITE_MAX = 64 * 1024  # bodies up to this size are copied behind their headers


class ApiHandler(WebSocketHandler):
    """One client connection; lets a held request see its client's socket (hang-up watch)."""

    def handle(self):
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test's socket pair)
        return super().handle()

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
        self._sendall(towrite)

    def get_environ(self):
        environ = super().get_environ()
        environ["flamenco.client_socket"] = self.socket
        return environ
