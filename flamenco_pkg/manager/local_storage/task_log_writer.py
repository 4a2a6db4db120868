"""Task-log file work on one native thread, in the order it was asked for.

Every hand-out and completion appends to a task's log, and the first line of
a task creates its file: opening, writing and closing files cost more of the
event loop than the rest of a Worker's call. Here they run on a thread of
their own (the system calls release the GIL), so the event loop goes on
answering Workers meanwhile.

One thread, first in first out: lines of a task are written in the order
they were queued, and a read (`tail`, `size`, a `/job-files/` download) or a
job's removal queued after them sees them written. Lines the Manager writes
itself are queued without waiting (`append_later`); lines a Worker sent are
waited for (`append`), so a full disk is still the Worker's 507 and it keeps
its lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from gevent.threadpool import ThreadPool

from .task_logs import TaskLogs

log = logging.getLogger("flamenco.tasklogs")

T = TypeVar("T")
# (job UUID, task UUID, text) to append; the answer holds what was written ("" when dropped).
Lines = Sequence[tuple[str, str, str]]


class TaskLogWriter:
    """The Manager's way to task logs: `TaskLogs` operations run on one writer thread."""

    def __init__(self, logs: TaskLogs) -> None:
        self.logs = logs
        self.root: Path = logs.root
        self._pool: ThreadPool | None = None  # made on first use, in the thread that serves

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

    def append(self, lines: Lines) -> tuple[list[tuple[str, str, str]], OSError | None]:
        """Append and wait: (job, task, text) as written, and the first error (a full disk) if any."""
        return self._thread().spawn(self._append_all, list(lines)).get()

    def append_later(self, lines: Lines,
                     done: Callable[[list[tuple[str, str, str]], BaseException | None], None]) -> None:
        """Queue the lines; `done(written, error)` is called on the event loop once they are written."""
        result = self._thread().spawn(self._append_all, list(lines))

        def finished(result: Any) -> None:
            if result.successful():
                done(*result.value)
            else:
                done([], result.exception)

        result.rawlink(finished)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the writer thread after everything queued before; waits for its result."""
        return self._thread().spawn(fn, *args).get()

    def tail(self, job_uuid: str, task_uuid: str) -> str:
        return self.call(self.logs.tail, job_uuid, task_uuid)

    def size(self, job_uuid: str, task_uuid: str) -> int:
        return self.call(self.logs.size, job_uuid, task_uuid)

    def remove_job(self, job_uuid: str) -> None:
        self.call(self.logs.remove_job, job_uuid)

    def flush(self) -> None:
        """Wait until everything queued so far is written."""
        if self._pool is not None:
            self.call(lambda: None)

    def url(self, job_uuid: str, task_uuid: str) -> str:
        return self.logs.url(job_uuid, task_uuid)

    def path(self, job_uuid: str, task_uuid: str) -> Path:
        return self.logs.path(job_uuid, task_uuid)

    def close(self) -> None:
        """Write what is queued, close the files kept open and stop the thread."""
        if self._pool is not None:
            self.call(self.logs.close)
            self._pool.kill()
            self._pool = None
