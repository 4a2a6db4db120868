"""The Manager's helper processes (job-type workers, the task-log writer): how one is started, and
the messages they exchange with the Manager, pickles with a length prefix.

Plain socket calls on both sides. In the monkey-patched Manager the socket is
gevent's, so waiting for (the rest of) a message lets other greenlets run;
in the worker it is an ordinary blocking socket.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import subprocess
import sys
from typing import Any

_LENGTH = struct.Struct("!Q")


def start_helper(boot: str, theirs: socket.socket, *args: str) -> subprocess.Popen:
    """`python -c boot *args FD`, FD being `theirs`: the helper's end of a socket pair, closed here.

    The helper gets the Manager's sys.path, so it imports this package also
    from inside the zipapp (shiv unpacks it to a folder). Its end is made
    blocking again: gevent made it non-blocking, and the helper is not gevent.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(entry for entry in sys.path if entry))
    with theirs:
        os.set_blocking(theirs.fileno(), True)
        return subprocess.Popen([sys.executable, "-c", boot, *args, str(theirs.fileno())],
                                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env)


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
