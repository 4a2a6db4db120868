"""A full disk under the Manager: told once, answered with 507, shown in the farm status.

When a write fails because a disk is full (SQLite's SQLITE_FULL, or ENOSPC
from a file), `DiskWatch.full` records which disk it was, logs one warning
for that disk, and gives the `DiskFull` error that requests answer with
(507 Insufficient Storage, naming the disk). While any disk is full, the
farm status carries a `disk_full` message. `loop.py` looks at the free
space every few seconds and announces the recovery once there is room again.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ManagerError

log = logging.getLogger("flamenco.disk")

# Free space at which a full disk counts as usable again (and the warning is lifted).
MIN_FREE_BYTES = 4 * 1024 * 1024
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DiskFull(ManagerError):
    """A write failed for lack of space; HTTP 507 with a message naming the disk."""

    def __init__(self, message: str) -> None:
        super().__init__(507, message)


def is_disk_full(exc: BaseException) -> bool:
    """Whether an exception means "no space left" (SQLite or the file system)."""
    if isinstance(exc, DiskFull):
        return True
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def mount_point(path: Path) -> Path:
    """The mount point of the file system holding `path` (or the nearest existing parent)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the disk holding `path`; 0 without free inodes."""
    stats = os.statvfs(path)
    if stats.f_files and not stats.f_favail:
        return 0
    return stats.f_bavail * stats.f_frsize


@dataclass
class _Full:
    what: dict[str, Path] = field(default_factory=dict)  # "database" -> the file on that disk


class DiskWatch:
    """Which disks are full right now; thread- and greenlet-safe."""

    def __init__(self, free: Callable[[Path], int] = free_bytes) -> None:
        self._free = free
        self._lock = threading.Lock()
        self._full: dict[Path, _Full] = {}
        self.on_change: list[Callable[[], None]] = []

    @property
    def is_full(self) -> bool:
        return bool(self._full)

    def message(self) -> str | None:
        """What the farm status shows while a disk is full; None when none is."""
        with self._lock:
            if not self._full:
                return None
            return "; ".join(self._describe(disk, full) for disk, full in sorted(self._full.items()))

    @staticmethod
    def _describe(disk: Path, full: _Full) -> str:
        holding = ", ".join(f"{what} {path}" for what, path in sorted(full.what.items()))
        return f"the disk at {disk} (holding the {holding}) is full; free some space there"

    def full(self, path: Path | str, what: str) -> DiskFull:
        """Record that writing `what` (at `path`) failed for lack of space; the error to raise.

        The first report for a disk logs a warning; later ones only at debug level.
        """
        path = Path(path)
        disk = mount_point(path)
        with self._lock:
            known = self._full.get(disk)
            first = known is None
            if first:
                known = self._full[disk] = _Full()
            known.what.setdefault(what, path)
            message = self._describe(disk, known)
        if first:
            log.warning("no space left on the disk at %s (writing the %s %s): the Manager answers "
                        "507 to requests that need to write there until space is freed", disk, what, path)
            self._changed()
        else:
            log.debug("still no space on %s (writing the %s %s)", disk, what, path)
        return DiskFull(f"no space left on the Manager's disk: {message}")

    def recheck(self) -> list[Path]:
        """Forget full disks that have room again (logging it); returns the recovered ones."""
        with self._lock:
            disks = list(self._full)
        recovered = []
        for disk in disks:
            try:
                room = self._free(disk)
            except OSError as exc:
                log.debug("cannot look at the free space of %s: %s", disk, exc)
                continue
            if room >= MIN_FREE_BYTES:
                with self._lock:
                    self._full.pop(disk, None)
                log.warning("the disk at %s has free space again (%d MiB); the Manager writes there normally again",
                            disk, room // (1024 * 1024))
                recovered.append(disk)
        if recovered:
            self._changed()
        return recovered

    def _changed(self) -> None:
        for callback in list(self.on_change):
            try:
                callback()
            except Exception:  # noqa: BLE001 — a listener must not break reporting
                log.exception("disk-full listener failed")

