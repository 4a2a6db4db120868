"""The content-addressed file store on disk: status, touching, temp files, commits.

A file's status comes only from the file system (as upstream): `stored` when
its blob exists, `uploading` when a recent temp file of an upload exists,
otherwise `unknown`. Several Managers or a GC run from the command line can
therefore share one store without sharing memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .layout import Layout
from .specs import BlobKey

UNKNOWN, UPLOADING, STORED = "unknown", "uploading", "stored"

# An upload that has not written for this long is abandoned (a crashed client):
# it no longer makes others defer, and the garbage collector removes it after
# UPLOAD_ABANDONED_AFTER.
UPLOAD_STALE_AFTER_S = 10 * 60
UPLOAD_ABANDONED_AFTER_S = 60 * 60

T = TypeVar("T")


def _retry_if_dir_vanished(make_dirs: Callable[[], None], action: Callable[[], T]) -> T:
    """Run `action` after `make_dirs`; once more if a concurrent cleanup removed the folder."""
    make_dirs()
    try:
        return action()
    except FileNotFoundError:
        make_dirs()
        return action()


def remove_empty_dirs(start: Path, stop: Path) -> None:
    """Remove `start` and its parents while empty, never `stop` itself or above it."""
    current = start
    while current != stop and stop in current.parents:
        try:
            current.rmdir()
        except OSError:
            return
        current = current.parent


class FileStore:
    """Blobs under `file-store/stored`, uploads in progress under `file-store/uploading`."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def status(self, key: BlobKey) -> str:
        if self.is_stored(key):
            return STORED
        if self.upload_in_progress(key):
            return UPLOADING
        return UNKNOWN

    def is_stored(self, key: BlobKey) -> bool:
        return self.layout.blob_path(key).is_file()

    def upload_in_progress(self, key: BlobKey) -> bool:
        fresh_after = time.time() - UPLOAD_STALE_AFTER_S
        for temp in self.layout.upload_dir(key).glob(self.layout.upload_glob(key)):
            with contextlib.suppress(OSError):
                if temp.stat().st_mtime >= fresh_after:
                    return True
        return False

    def touch(self, key: BlobKey) -> bool:
        """Mark a blob as recently used so GC keeps it; False when it is not stored.

        `os.utime(path)` without times sets "now" the way SMB shares accept
        (utimensat with UTIME_NOW), where explicit times can fail.
        """
        try:
            os.utime(self.layout.blob_path(key))
        except FileNotFoundError:
            return False
        return True

    def new_upload_file(self, key: BlobKey) -> tuple[Path, int]:
        """Create this uploader's own temp file exclusively; returns (path, fd).

        Mode 0666 minus the umask, so Workers running as another user can read
        the blob it becomes.
        """
        folder = self.layout.upload_dir(key)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        for _ in range(20):
            temp = folder / f"{key.size}-{secrets.token_hex(6)}.tmp"
            try:
                fd = _retry_if_dir_vanished(lambda: folder.mkdir(parents=True, exist_ok=True),
                                            lambda: os.open(temp, flags, 0o666))
            except FileExistsError:
                continue
            return temp, fd
        raise OSError(errno.EEXIST, f"cannot create a unique upload file in {folder}")

    def discard_upload(self, temp: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        remove_empty_dirs(temp.parent, self.layout.uploading)

    def commit(self, temp: Path, key: BlobKey) -> None:
        """Move a verified upload into place; a rename, so readers never see half a file."""
        blob = self.layout.blob_path(key)
        _retry_if_dir_vanished(lambda: blob.parent.mkdir(parents=True, exist_ok=True),
                               lambda: os.replace(temp, blob))
        remove_empty_dirs(temp.parent, self.layout.uploading)
