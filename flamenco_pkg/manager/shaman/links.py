"""Putting a blob into a checkout: a symlink, else a hard link, else a copy.

Symlinks are what upstream uses: cheap, and the garbage collector can see
which blobs are in use. Where they cannot be made (Windows without Developer
Mode or the "Create symbolic links" policy, some SMB mounts) a hard link
still costs no space; across file systems, a copy always works. The first
refusal switches the method for the rest of the process and is logged once,
so a checkout of thousands of files does not try and fail thousands of times.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import threading
from pathlib import Path

log = logging.getLogger("flamenco.shaman")

SYMLINK, HARDLINK, COPY = "symlink", "hardlink", "copy"
_ORDER = (SYMLINK, HARDLINK, COPY)

# Errors that mean "this kind of link is not possible here", not "this one file failed".
_UNSUPPORTED = {errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV,
                errno.EMLINK}
_WINDOWS_PRIVILEGE_NOT_HELD = 1314
_WINDOWS_NOT_SAME_DEVICE = 17


def _is_unsupported(exc: OSError) -> bool:
    return exc.errno in _UNSUPPORTED or getattr(exc, "winerror", None) in (
        _WINDOWS_PRIVILEGE_NOT_HELD, _WINDOWS_NOT_SAME_DEVICE)


def relative_target(blob: Path, link: Path) -> str:
    """Symlink target relative to the link's folder, so the share can be mounted elsewhere."""
    return os.path.relpath(blob, link.parent)


def same_target(blob: Path, link: Path) -> bool:
    """Whether an existing `link` already provides `blob` (any of the three methods)."""
    try:
        if link.is_symlink():
            return os.path.realpath(link) == os.path.realpath(blob)
        return os.path.samefile(link, blob) or _same_bytes(link, blob)
    except OSError:
        return False


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            ca, cb = fa.read(1 << 20), fb.read(1 << 20)
            if ca != cb:
                return False
            if not ca:
                return True


class Linker:
    """Makes checkout entries; remembers which method this file system allows."""

    def __init__(self, method: str = SYMLINK) -> None:
        self.method = method
        self._lock = threading.Lock()

    def link(self, blob: Path, link: Path) -> str:
        """Create `link` providing `blob`; returns the method used. Raises OSError."""
        while True:
            method = self.method
            try:
                self._make(method, blob, link)
                return method
            except OSError as exc:
                if not _is_unsupported(exc) or method == COPY or isinstance(exc, FileExistsError):
                    raise
                self._downgrade(method, exc, link.parent)

    def _downgrade(self, failed: str, exc: OSError, where: Path) -> None:
        with self._lock:
            if self.method != failed:
                return  # another request already switched
            self.method = _ORDER[_ORDER.index(failed) + 1]
        log.warning("cannot create %s links in %s (%s); checkouts use %s from now on",
                    failed, where, exc.strerror or exc, "hard links" if self.method == HARDLINK else "copies")

    @staticmethod
    def _make(method: str, blob: Path, link: Path) -> None:
        if method == SYMLINK:
            os.symlink(relative_target(blob, link), link)
        elif method == HARDLINK:
            os.link(blob, link)
        else:
            if os.path.lexists(link):
                raise FileExistsError(errno.EEXIST, "already exists", str(link))
            temp = link.with_name(link.name + ".shaman-copy")
            shutil.copyfile(blob, temp)
            os.replace(temp, link)
