"""Task-log file work on one native thread, in the order it was asked for.

Every hand-out and completion appends to a task's log, and the first line of
a task creates its file: opening, writing and closing files cost more of the
event loop than the rest of a Worker's call. Here they run on a thread of
their own (the system calls release the GIL), so the event loop goes on
answering Workers meanwhile.

One thread, first in first out: lines of a task are written in the order
they were queued, and a read (`tail`, `size`, a `/job-files/` download) or a
job's removal queued after them sees them written. Lines the Manager writes
itself are queued without waiting (`append_later`, gathered for up to 10 ms);
lines a Worker sent are waited for (`append`), so a full disk is still the
Worker's 507 and it keeps its lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import gevent
from gevent.threadpool import ThreadPool

from .task_logs import TaskLogs

log = logging.getLogger("flamenco.tasklogs")

T = TypeVar("T")
BATCH_SECONDS = 0.01  # queued lines wait at most this long for others to share the thread's wake-up
# (job UUID, task UUID, text) to append; the answer holds what was written ("" when dropped).
Lines = Sequence[tuple[str, str, str]]


class TaskLogWriter:
    """The Manager's way to task logs: `TaskLogs` operations run on one writer thread.

    Lines queued without waiting are gathered for BATCH_SECONDS and handed to
    the thread together: waking a thread costs the event loop about as much
    as writing a line, so under load one wake-up serves many hand-outs.
    """

    def __init__(self, logs: TaskLogs) -> None:
        self.logs = logs
        self.root: Path = logs.root
        # Told (written, first error, lines asked for) once queued lines are written; on the event loop.
        self.on_written: Callable[[list[tuple[str, str, str]], OSError | None, list[tuple[str, str, str]]], None] = (
            lambda written, error, lines: None)
        self._pool: ThreadPool | None = None  # made on first use, in the thread that serves
        self._pending: list[tuple[str, str, str]] = []
        self._timer: gevent.Greenlet | None = None

    def _thread(self) -> ThreadPool:
        if self._pool is None:
            self._pool = ThreadPool(1)
        return self._pool

    def _append_all(self, lines: Lines) -> tuple[list[tuple[str, str, str]], OSError | None]:
        """Every line that can be written is (one task's full disk does not drop the others')."""
        written, error = [], None
        for job_uuid, task_uuid, text in lines:
            try:
                done = self.logs.append(job_uuid, task_uuid, text)
            except OSError as exc:
                error = error or exc
                continue
            if done:
                written.append((job_uuid, task_uuid, done))
        return written, error

    def append_later(self, lines: Lines) -> None:
        """Queue the lines; `on_written` hears how it went."""
        self._pending.extend(lines)
        if self._timer is None:
            self._timer = gevent.spawn_later(BATCH_SECONDS, self._hand_over)

    def _hand_over(self) -> None:
        """Give the gathered lines to the thread (before anything queued after them)."""
        if self._timer is not None:
            if self._timer is not gevent.getcurrent():
                self._timer.kill(block=False)
            self._timer = None
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        result = self._thread().spawn(self._append_all, lines)

        def finished(result: Any) -> None:
            if result.successful():
                self.on_written(*result.value, lines)
            else:
                log.error("task log lines could not be written: %s", result.exception)

        result.rawlink(finished)

    def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the writer thread after everything queued before; waits for its result."""
        self._hand_over()
        return self._thread().spawn(fn, *args).get()

    def append(self, lines: Lines) -> tuple[list[tuple[str, str, str]], OSError | None]:
        """Append and wait: (job, task, text) as written, and the first error (a full disk) if any."""
        return self._run(self._append_all, list(lines))

    def tail(self, job_uuid: str, task_uuid: str) -> str:
        return self._run(self.logs.tail, job_uuid, task_uuid)

    def size(self, job_uuid: str, task_uuid: str) -> int:
        return self._run(self.logs.size, job_uuid, task_uuid)

    def remove_job(self, job_uuid: str) -> None:
        self._run(self.logs.remove_job, job_uuid)

    def flush(self) -> None:
        """Wait until everything queued so far is written."""
        if self._pool is not None or self._pending:
            self._run(lambda: None)

    def url(self, job_uuid: str, task_uuid: str) -> str:
        return self.logs.url(job_uuid, task_uuid)

    def path(self, job_uuid: str, task_uuid: str) -> Path:
        return self.logs.path(job_uuid, task_uuid)

    def close(self) -> None:
        """Write what is queued, close the files kept open and stop the thread."""
        if self._pool is not None or self._pending:
            self._run(self.logs.close)
            self._pool.kill()
            self._pool = None
