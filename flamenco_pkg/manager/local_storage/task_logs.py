"""Task logs: one append-only text file per task, under the job's folder.

Lines the Manager writes itself start with an RFC 3339 local timestamp.
`tail` returns the last 2 KiB, starting at a line boundary when it cuts.

Writes to one job's folder are serialised by a lock picked by the job's UUID
from a fixed set (so the locks do not grow with the number of tasks), and
`remove_job` takes the same lock: once a job's folder is removed, a late
append for it is dropped instead of creating the folder again.

Recently written logs stay open (`open_logs_limit`, least recently used closed
first): a hand-out creates a task's log and its completion appends to the
still-open file. Writes are unbuffered, so readers by path see every line;
removing a job closes its files first.
"""

from __future__ import annotations

import _thread
import logging
import os
import shutil
import time
import zlib
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

from . import paths as storage

log = logging.getLogger("flamenco.tasklogs")

TAIL_BYTES = 2048
LOCK_COUNT = 64
# Removed jobs remembered to drop late appends; far more than can be in flight.
REMEMBERED_REMOVALS = 10_000

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# The plain os.close and locks, also under gevent's monkey-patching: its os.close checks and stats
# the descriptor first (for sockets a hub may watch), its locks are Python code. A task log is a
# regular file nothing watches, and the locks are held only around file system calls, which never
# switch greenlets (in the Manager all of it runs in the task-log writer process).
try:
    from gevent.monkey import get_original as _get_original

    _close_fd = _get_original("os", "close")
    _new_lock = _get_original("_thread", "allocate_lock")
except ImportError:  # pragma: no cover - gevent is a dependency of the Manager
    _close_fd = os.close
    _new_lock = _thread.allocate_lock


def open_logs_limit(soft_limit: int | None = None) -> int:
    """How many task logs to keep open for appending.

    A task's completion comes as many hand-outs after its own hand-out as there
    are busy Workers (a thousand on a big farm), and reopening its log then
    costs more than the line: keep enough open for that, but never more than an
    eighth of the process's descriptor limit (the Workers' connections need them).
    """
    if soft_limit is None:
        try:
            import resource

            soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            if soft_limit == resource.RLIM_INFINITY:
                soft_limit = 1 << 20
        except (ImportError, OSError, ValueError):  # no getrlimit (Windows): stay small
            soft_limit = 512
    return max(16, min(2048, soft_limit // 8))


def _append_whole(fd: int, data: bytes) -> None:
    """Append all of `data` or nothing: a failed write (a full disk) is cut off again.

    One write in the usual case; a failing write writes nothing, so only after a short
    one is there something to cut off (this thread is the file's only writer).
    """
    done = os.write(fd, data)
    if done == len(data):
        return
    try:
        view = memoryview(data)
        while done < len(data):
            done += os.write(fd, view[done:])
    except OSError:
        os.ftruncate(fd, os.fstat(fd).st_size - done)
        raise


_stamp_cache: tuple[int, str] = (-1, "")


def _stamp_now() -> str:
    """Now as an RFC 3339 local time to the second; formatted once per second (every log line needs it)."""
    global _stamp_cache
    second = int(time.time())
    if _stamp_cache[0] != second:
        _stamp_cache = (second, datetime.fromtimestamp(second).astimezone().isoformat(timespec="seconds"))
    return _stamp_cache[1]


class TaskLogs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks = tuple(_new_lock() for _ in range(LOCK_COUNT))
        self._removed: OrderedDict[str, None] = OrderedDict()
        self._job_dirs: dict[str, str] = {}  # job UUID -> its resolved folder, ending in a separator
        # (job UUID, task UUID) -> open descriptor, least recently used first: opening a
        # file costs more than writing a line to it. Looked up and written under _open_lock.
        self._open: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._open_lock = _new_lock()
        # Read now, not at import: the Manager raises its descriptor limit at start-up.
        self.open_limit = open_logs_limit()

    def _file(self, job_uuid: str, task_uuid: str) -> str:
        # UUIDs are checked, so the name cannot climb out; the job's folder is
        # resolved once (a symlink planted there is still caught).
        job_dir = self._job_dirs.get(job_uuid)
        if job_dir is None:
            job_dir = os.path.join(storage.inside(self.root, storage.job_dir_rel(job_uuid)), "")
            if len(self._job_dirs) >= REMEMBERED_REMOVALS:
                self._job_dirs.clear()
            self._job_dirs[job_uuid] = job_dir
        return f"{job_dir}task-{storage.check_uuid(task_uuid)}.txt"

    def path(self, job_uuid: str, task_uuid: str) -> Path:
        return Path(self._file(job_uuid, task_uuid))

    def url(self, job_uuid: str, task_uuid: str) -> str:
        return "/job-files/" + storage.task_log_rel(job_uuid, task_uuid)

    def _lock(self, job_uuid: str) -> _thread.LockType:
        return self._locks[zlib.crc32(job_uuid.encode()) % LOCK_COUNT]

    def append(self, job_uuid: str, task_uuid: str, text: str) -> str:
        """Append text (newline-terminated); returns what was written, '' if nothing.

        Nothing is written for a job whose folder `remove_job` removed.
        """
        if not text:
            return ""
        if text[-1] != "\n":
            text += "\n"
        key = (job_uuid, task_uuid)
        with self._lock(job_uuid):
            if job_uuid in self._removed:
                log.debug("task %s: log lines dropped, its job %s is deleted", task_uuid, job_uuid)
                return ""
            with self._open_lock:
                fd = self._open.get(key)
                if fd is None:
                    fd = self._open_new(key)
                else:
                    self._open.move_to_end(key)
                _append_whole(fd, text.encode("utf-8"))
        return text

    def _open_new(self, key: tuple[str, str]) -> int:
        """Open the task's log for appending and keep it open (called under _open_lock)."""
        path = self._file(*key)
        try:
            fd = os.open(path, _OPEN_FLAGS, 0o666)
        except FileNotFoundError:  # the job's first line
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, _OPEN_FLAGS, 0o666)
        self._open[key] = fd
        while len(self._open) > self.open_limit:
            _close_fd(self._open.popitem(last=False)[1])
        return fd

    def _close_job(self, job_uuid: str) -> None:
        with self._open_lock:
            for key in [k for k in self._open if k[0] == job_uuid]:
                _close_fd(self._open.pop(key))

    def close(self) -> None:
        """Close the log files kept open."""
        with self._open_lock:
            while self._open:
                _close_fd(self._open.popitem()[1])

    def remove_job(self, job_uuid: str) -> None:
        """Remove the job's folder (and `job-XXXX` when empty) for good; OSError when that fails.

        From here on appends for the job are dropped, so no folder comes back.
        """
        job_dir = self.path_of_job(job_uuid)
        with self._lock(job_uuid):
            self._removed[job_uuid] = None
            self._job_dirs.pop(job_uuid, None)
            self._close_job(job_uuid)
            while len(self._removed) > REMEMBERED_REMOVALS:
                self._removed.popitem(last=False)
            if job_dir.exists():
                shutil.rmtree(job_dir)
            parent = job_dir.parent
            if parent != self.root.resolve() and parent.exists() and not any(parent.iterdir()):
                parent.rmdir()

    def path_of_job(self, job_uuid: str) -> Path:
        return storage.inside(self.root, storage.job_dir_rel(job_uuid))

    @staticmethod
    def timestamped(text: str) -> str:
        return f"{_stamp_now()} {text}"

    def size(self, job_uuid: str, task_uuid: str) -> int:
        try:
            return os.stat(self._file(job_uuid, task_uuid)).st_size
        except FileNotFoundError:
            return 0

    def tail(self, job_uuid: str, task_uuid: str) -> str:
        """The last 2 KiB; when cut, drop the partial first line."""
        try:
            with open(self._file(job_uuid, task_uuid), "rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                start = max(0, size - TAIL_BYTES)
                fh.seek(start)
                data = fh.read()
        except FileNotFoundError:
            return ""
        if start > 0:
            newline = data.find(b"\n")
            if newline != -1 and newline != len(data) - 1:
                data = data[newline + 1:]
        return data.decode("utf-8", errors="replace")
