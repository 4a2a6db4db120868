"""The task-log writer process: `TaskLogs` operations, one after the other, each answered.

Creating a task's log file costs tens to hundreds of microseconds in the
kernel, and every hand-out creates one. On a thread of the Manager that
work still handed the GIL back and forth with the event loop for every
system call: under 1000 Workers it cost the event loop a fifth of its hand-out
rate. In a process of its own it costs the event loop one socket write per
batch of lines.

The Manager (`task_log_writer.py`) starts it with one end of a socket pair:
requests come in as `(seq, operation, args)` and each gets `(seq, ok, result
or exception)` back, in order, as `flamenco_pkg/wire.py` messages. End of input
(the Manager closed its end, or died) ends the process after closing the logs
it kept open.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ... import wire
from .task_logs import TaskLogs

# (job UUID, task UUID, text) to append; the answer holds what was written ("" when dropped).
Lines = Sequence[tuple[str, str, str]]


def append_all(logs: TaskLogs, lines: Lines) -> tuple[list[tuple[str, str, str]], OSError | None]:
    """Every line that can be written is (one task's full disk does not drop the others')."""
    written, error = [], None
    for job_uuid, task_uuid, text in lines:
        try:
            done = logs.append(job_uuid, task_uuid, text)
        except OSError as exc:
            error = error or exc
            continue
        if done:
            written.append((job_uuid, task_uuid, done))
    return written, error


def _operations(logs: TaskLogs) -> dict[str, Any]:
    """What a request may ask for, by name."""
    return {
        "append_all": lambda lines: append_all(logs, lines),
        "tail": logs.tail,
        "size": logs.size,
        "remove_job": logs.remove_job,
        "close": logs.close,
        "pid": os.getpid,
    }


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 — any exception that does not travel is sent as its text
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def serve(logs: TaskLogs, sock: socket.socket) -> None:
    """Answer requests until the Manager closes its end; then close the logs kept open."""
    by_name = _operations(logs)
    try:
        while True:
            try:
                seq, name, args = wire.receive(sock)
            except (EOFError, OSError):
                return
            try:
                answer = (seq, True, by_name[name](*args))
            except Exception as exc:  # noqa: BLE001 — handed back to the Manager, which decides
                answer = (seq, False, _picklable(exc))
            wire.send(sock, answer)
    finally:
        logs.close()


def main() -> None:
    """`python -c '...main()' ROOT SOCKET_FD`, as `task_log_writer` starts it."""
    # Ctrl-C in a terminal and a service manager's stop reach the whole process group; this process
    # stops when the Manager closes its socket, after the lines still queued (the Manager's shutdown).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root, fd = sys.argv[1], int(sys.argv[2])
    try:
        serve(TaskLogs(Path(root)), socket.socket(fileno=fd))
    except OSError:
        pass  # the Manager is gone: nothing is left to answer
