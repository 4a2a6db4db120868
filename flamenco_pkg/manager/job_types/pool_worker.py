"""The job-type worker process: runs scripts for the Manager, one request at a time.

Started by `pool.py` as `python -c` with the Manager's sys.path, so it is a
fresh interpreter without gevent that imports only this package (also from
inside the zipapp). Requests and replies are pickled tuples over a socket
pair (fd in argv[1], framing in `wire.py`); see `pool.py` for the protocol.
Big results go out in chunks, so the Manager never unpickles 100k rows in
one go on its event loop.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ... import wire
from .engine import SandboxLimits
from .errors import JobTypeError
from .models import TaskGroup
from .runner import ScriptRunner

CHUNK_ROWS = 5000  # tasks per reply message: a few hundred kB, a few ms to unpickle


class _Collect(logging.Handler):
    """Keeps this request's log records; the Manager logs them in its own log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))

    def take(self) -> list[tuple[str, int, str]]:
        records, self.records = self.records, []
        return records


def main() -> None:
    serve(socket.socket(fileno=int(sys.argv[1])))


def serve(sock: socket.socket) -> None:
    """Answer requests until the Manager closes its end of the socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the Manager; it stops us
    collected = _Collect()
    logger = logging.getLogger("flamenco")
    logger.addHandler(collected)
    logger.propagate = False

    def send(message: tuple) -> None:
        wire.send(sock, message)

    while True:
        try:
            log_level, time_zone, *request = wire.receive(sock)
        except (EOFError, OSError):
            return
        logger.setLevel(log_level)
        _follow_time_zone(time_zone)
        try:
            result = _handle(request, send)
        except JobTypeError as err:
            send(("error", type(err).__name__, err.message, err.http_status, collected.take()))
        except Exception:  # noqa: BLE001 - reported to the Manager, which logs it
            send(("crash", traceback.format_exc(), collected.take()))
        else:
            send(("done", result, collected.take()))


def _follow_time_zone(time_zone: str | None) -> None:
    """Use the Manager's TZ, so formatTimestampLocal() gives the Manager's local time."""
    if os.environ.get("TZ") == time_zone:
        return
    if time_zone is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = time_zone
    time.tzset()


def _handle(request: list, send: Any) -> Any:
    operation, custom_dir, time_limit_s, memory_limit_bytes, *args = request
    runner = ScriptRunner(Path(custom_dir) if custom_dir else None,
                          SandboxLimits(time_limit_s, memory_limit_bytes),
                          heartbeat=lambda filename: send(("alive", filename)))
    if operation == "list":
        return runner.list_types()
    if operation == "get":
        return runner.get_type(args[0])
    if operation == "compile":
        job, with_tasks = args

        def sink(tasks: TaskGroup, pairs: list) -> None:
            if with_tasks:  # often while the script runs: the Manager stores them meanwhile
                for start in range(0, len(tasks.uuids), CHUNK_ROWS):
                    send(("tasks", tasks.slice(start, start + CHUNK_ROWS), []))
                for start in range(0, len(pairs), CHUNK_ROWS):  # after the tasks they name
                    send(("tasks", None, pairs[start:start + CHUNK_ROWS]))

        compiled = runner.compile(job, sink)
        return compiled.settings, compiled.metadata, compiled.dependencies, compiled.depends_on
    raise ValueError(f"unknown job-type request {operation!r}")
