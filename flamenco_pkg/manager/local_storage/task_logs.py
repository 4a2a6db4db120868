"""Task logs: one append-only text file per task, under the job's folder.

Lines the Manager writes itself start with an RFC 3339 local timestamp.
`tail` returns the last 2 KiB, starting at a line boundary when it cuts.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from . import paths as storage

TAIL_BYTES = 2048


class TaskLogs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def path(self, job_uuid: str, task_uuid: str) -> Path:
        return storage.inside(self.root, storage.task_log_rel(job_uuid, task_uuid))

    def url(self, job_uuid: str, task_uuid: str) -> str:
        return "/job-files/" + storage.task_log_rel(job_uuid, task_uuid)

    def _lock(self, task_uuid: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(task_uuid, threading.Lock())

    def append(self, job_uuid: str, task_uuid: str, text: str) -> str:
        """Append text (newline-terminated); returns what was written, '' if nothing."""
        if not text:
            return ""
        if not text.endswith("\n"):
            text += "\n"
        path = self.path(job_uuid, task_uuid)
        with self._lock(task_uuid):
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @staticmethod
    def timestamped(text: str) -> str:
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        return f"{stamp} {text}"

    def size(self, job_uuid: str, task_uuid: str) -> int:
        try:
            return self.path(job_uuid, task_uuid).stat().st_size
        except FileNotFoundError:
            return 0

    def tail(self, job_uuid: str, task_uuid: str) -> str:
        """The last 2 KiB; when cut, drop the partial first line."""
        path = self.path(job_uuid, task_uuid)
        try:
            with open(path, "rb") as fh:
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
