"""Task-log file work in a process of its own, in the order it was asked for.

Every hand-out and completion appends to a task's log, and the first line of
a task creates its file: opening and writing files cost more than the rest of
a Worker's call. On a thread of the Manager they still took the GIL back for
every system call, which cost the event loop a fifth of its hand-out rate
under load; so they run in the task-log writer process
(`task_log_process.py`), started on first use and again after it died.

First in first out: lines of a task are written in the order they were
queued, and a read (`tail`, `size`, a `/job-files/` download after `flush`)
or a job's removal queued after them sees them written. Lines the Manager
writes itself are queued without waiting (`append_later`, gathered for up to
10 ms); lines a Worker sent are waited for (`append`), so a full disk is
still the Worker's 507 and it keeps its lines.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import gevent.lock
from gevent import socket
from gevent.event import AsyncResult

from ... import wire
from ..errors import ManagerError
from .task_log_process import Lines
from .task_logs import TaskLogs

log = logging.getLogger("flamenco.tasklogs")

BATCH_SECONDS = 0.01  # queued lines wait at most this long for others to share the socket write
STOP_SECONDS = 10.0  # a stopping Manager waits this long for the process to write what is queued
_MAIN = "from flamenco_pkg.manager.local_storage.task_log_process import main; main()"

Answer = Callable[[bool, Any], None]  # (ok, result or exception)


class TaskLogsUnavailable(ManagerError):
    """The writer process stopped before answering: 503, try again (the next request starts another)."""

    def __init__(self) -> None:
        super().__init__(503, "the Manager's task-log writer process stopped; it is started again, "
                              "try again", {"Retry-After": "1"})


class _Child:
    """One task-log writer process, the Manager's end of its socket pair and the answers it owes."""

    def __init__(self, root: Path) -> None:
        """The socket pair and the bookkeeping; nothing here yields, so requests sent before `start`
        keep their place (the socket holds them until the process reads)."""
        self._root = root
        self.sock, self._theirs = socket.socketpair()  # gevent's, also where nothing is monkey-patched
        self.proc: subprocess.Popen | None = None
        self.stopped = False
        self._seq = 0
        self._waiting: dict[int, Answer] = {}
        self._sending = gevent.lock.Semaphore()  # each message whole, in the order sent
        self._reader = gevent.spawn(self._read)

    def start(self) -> None:
        """Start the process (this may yield); when it cannot start, what was sent fails (see `_gone`)."""
        try:  # closes our copy of its end: once the process ends, the reader hears so
            self.proc = wire.start_helper(_MAIN, self._theirs, str(self._root))
        except OSError as exc:
            log.error("cannot start the task-log writer process: %s", exc)

    def send(self, name: str, args: tuple, answer: Answer) -> None:
        """Send a request; `answer` is called on the event loop once it is done (or failed)."""
        self._seq += 1
        self._waiting[self._seq] = answer
        try:
            with self._sending:
                wire.send(self.sock, (self._seq, name, args))
        except OSError:
            pass  # the reader hears that the process is gone and fails everything it owed

    def _read(self) -> None:
        try:
            while True:
                seq, ok, value = wire.receive(self.sock)
                answer = self._waiting.pop(seq)
                try:
                    answer(ok, value)
                except Exception:  # noqa: BLE001 — one failed listener must not stop the answers
                    log.exception("handling the task-log writer's answer failed")
        except (EOFError, OSError):
            pass
        finally:
            self._gone()

    def _gone(self) -> None:
        """The process ended: everything it still owed fails; the next request starts another."""
        self.stopped = True
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        self.sock.close()
        owed, self._waiting = self._waiting, {}
        if owed:
            log.error("the task-log writer process stopped (exit code %s) with %d requests unanswered; "
                      "the next lines start a new one", code, len(owed))
        for answer in owed.values():
            answer(False, TaskLogsUnavailable())

    def stop(self) -> None:
        """Let it finish what it was sent, then end it (the end of its input is its signal)."""
        with self._sending:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # already gone
        self._reader.join(STOP_SECONDS)


class TaskLogWriter:
    """The Manager's way to task logs: `TaskLogs` operations run in the task-log writer process.

    Lines queued without waiting are gathered for BATCH_SECONDS and sent
    together: one socket write serves many hand-outs under load. Paths and
    URLs are worked out here (`logs`); nothing here touches the files.
    """

    def __init__(self, logs: TaskLogs) -> None:
        self.logs = logs
        self.root: Path = logs.root
        # Told (written, first error, lines asked for) once queued lines are written; on the event loop.
        self.on_written: Callable[[list[tuple[str, str, str]], OSError | None, list[tuple[str, str, str]]], None] = (
            lambda written, error, lines: None)
        self._child: _Child | None = None
        self._pending: list[tuple[str, str, str]] = []
        self._timer: gevent.Greenlet | None = None

    def _send(self, name: str, args: tuple, answer: Answer) -> None:
        """Requests reach the process in the order of these calls, also while it starts."""
        child = self._child
        if child is not None and not child.stopped:
            child.send(name, args, answer)
            return
        child = self._child = _Child(self.root)
        child.send(name, args, answer)
        child.start()

    def append_later(self, lines: Lines) -> None:
        """Queue the lines; `on_written` hears how it went."""
        self._pending.extend(lines)
        if self._timer is None:
            self._timer = gevent.spawn_later(BATCH_SECONDS, self._hand_over)

    def _hand_over(self) -> None:
        """Send the gathered lines (before anything asked after them)."""
        if self._timer is not None:
            if self._timer is not gevent.getcurrent():
                self._timer.kill(block=False)
            self._timer = None
        if not self._pending:
            return
        lines, self._pending = self._pending, []

        def answered(ok: bool, value: Any) -> None:
            if ok:
                self.on_written(*value, lines)
            else:
                log.error("task log lines could not be written: %s", value)

        self._send("append_all", (lines,), answered)

    def _run(self, name: str, *args: Any) -> Any:
        """The operation in the writer process after everything queued before; waits for its result."""
        self._hand_over()
        result: AsyncResult = AsyncResult()
        self._send(name, args, lambda ok, value: result.set(value) if ok else result.set_exception(value))
        return result.get()

    def append(self, lines: Lines) -> tuple[list[tuple[str, str, str]], OSError | None]:
        """Append and wait: (job, task, text) as written, and the first error (a full disk) if any.

        TaskLogsUnavailable when the process stopped first: the Worker keeps its lines for later.
        """
        return self._run("append_all", list(lines))

    def tail(self, job_uuid: str, task_uuid: str) -> str:
        return self._run("tail", job_uuid, task_uuid)

    def size(self, job_uuid: str, task_uuid: str) -> int:
        return self._run("size", job_uuid, task_uuid)

    def remove_job(self, job_uuid: str) -> None:
        self._run("remove_job", job_uuid)

    def flush(self) -> None:
        """Wait until everything queued so far is written (or, if the process stopped, lost and logged)."""
        if self._child is not None or self._pending:
            try:
                self._run("pid")
            except TaskLogsUnavailable:
                pass

    def url(self, job_uuid: str, task_uuid: str) -> str:
        return self.logs.url(job_uuid, task_uuid)

    def path(self, job_uuid: str, task_uuid: str) -> Path:
        return self.logs.path(job_uuid, task_uuid)

    def close(self) -> None:
        """Write what is queued, close the files kept open and stop the process."""
        if self._child is None and not self._pending:
            return
        try:
            self._run("close")
        except TaskLogsUnavailable:
            pass  # logged with what it still owed
        if self._child is not None:
            self._child.stop()
            self._child = None
