"""Messages between the Manager and its helper processes (job-type workers, the task-log writer):
pickles with a length prefix.

Plain socket calls on both sides. In the monkey-patched Manager the socket is
gevent's, so waiting for (the rest of) a message lets other greenlets run;
in the worker it is an ordinary blocking socket.
"""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

_LENGTH = struct.Struct("!Q")


def send(sock: socket.socket, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def receive(sock: socket.socket) -> Any:
    """The next message; EOFError when the other side has closed the socket."""
    (length,) = _LENGTH.unpack(_exactly(sock, _LENGTH.size))
    return pickle.loads(_exactly(sock, length))


def _exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], min(size - got, 1 << 20))
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n
    return buffer
