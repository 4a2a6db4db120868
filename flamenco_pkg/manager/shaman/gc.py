"""Garbage collection of the file store: remove blobs nobody uses any more.

A blob goes when it is older than `maxAge` (by mtime; uploads, requirement
checks and checkouts touch it) and no checkout uses it: no symlink under
`jobs/` resolves to it, and it has no other hard link. Just before deleting,
its mtime is read again, so a blob touched during the sweep stays. Abandoned
upload temp files (no write for an hour) are removed too.

`sweep` only returns a report and never logs: the Manager runs it in a
thread so a long walk does not stall requests, and logs in its own loop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ..config.durations import format_duration
from .filestore import UPLOAD_ABANDONED_AFTER_S, remove_empty_dirs
from .layout import BLOB_SUFFIX, UPLOAD_SUFFIX, Layout


@dataclass(frozen=True)
class BlobInfo:
    path: Path  # real path (the layout root is resolved)
    mtime: float
    size: int
    nlink: int


def blobs_to_delete(blobs: Iterable[BlobInfo], referenced: set[str], cutoff: float) -> tuple[list[BlobInfo], int]:
    """Old blobs that no checkout uses, and how many old ones are in use (pure)."""
    delete, in_use = [], 0
    for blob in blobs:
        if blob.mtime >= cutoff:
            continue
        if str(blob.path) in referenced or blob.nlink > 1:
            in_use += 1
        else:
            delete.append(blob)
    return delete, in_use


@dataclass
class GCReport:
    """What one sweep found and did; `lines()` is what `-shaman-gc-show` prints."""

    dry_run: bool
    max_age: timedelta
    blobs: int = 0
    old: int = 0
    in_use: int = 0
    links_checked: int = 0
    touched_meanwhile: int = 0
    deleted: list[Path] = field(default_factory=list)  # or "would delete" on a dry run
    bytes_freed: int = 0
    stale_uploads: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (f"Shaman garbage collection: {self.blobs} files in the store, {self.old} older than "
                f"{format_duration(self.max_age)}, {self.in_use} of those still used by checkouts "
                f"({self.links_checked} links checked); {verb} {len(self.deleted)} files "
                f"({_human_bytes(self.bytes_freed)}) and {len(self.stale_uploads)} abandoned uploads"
                + (f"; {len(self.errors)} errors" if self.errors else ""))

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        return ([f"{verb}: {path}" for path in self.deleted]
                + [f"{verb} abandoned upload: {path}" for path in self.stale_uploads]
                + [f"error: {error}" for error in self.errors]
                + [self.summary()])


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"  # pragma: no cover


def _walk_files(root: Path, suffix: str, report: GCReport) -> Iterable[Path]:
    for folder, _dirs, names in os.walk(root, onerror=lambda e: report.errors.append(str(e))):
        for name in names:
            if name.endswith(suffix):
                yield Path(folder, name)


def _stored_blobs(layout: Layout, report: GCReport) -> list[BlobInfo]:
    blobs = []
    for path in _walk_files(layout.stored, BLOB_SUFFIX, report):
        try:
            st = path.lstat()
        except OSError as exc:
            report.errors.append(f"cannot read {path}: {exc.strerror}")
            continue
        blobs.append(BlobInfo(path, st.st_mtime, st.st_size, st.st_nlink))
    return blobs


def _linked_blobs(layout: Layout, report: GCReport) -> set[str]:
    """Real paths of everything the symlinks under jobs/ point at."""
    targets: set[str] = set()
    for folder, dirs, names in os.walk(layout.checkouts, onerror=lambda e: report.errors.append(str(e))):
        for name in names + dirs:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                report.links_checked += 1
                targets.add(os.path.realpath(path))
    return targets


def sweep(layout: Layout, max_age: timedelta, *, delete: bool, now: float | None = None) -> GCReport:
    """One garbage collection pass over `layout`; with delete=False nothing changes."""
    now = time.time() if now is None else now
    report = GCReport(dry_run=not delete, max_age=max_age)
    cutoff = now - max_age.total_seconds()
    blobs = _stored_blobs(layout, report) if layout.stored.is_dir() else []
    report.blobs = len(blobs)
    old = [blob for blob in blobs if blob.mtime < cutoff]
    report.old = len(old)
    referenced = _linked_blobs(layout, report) if old and layout.checkouts.is_dir() else set()
    candidates, report.in_use = blobs_to_delete(old, referenced, cutoff)

    for blob in candidates:
        try:
            st = blob.path.lstat()
        except FileNotFoundError:
            continue
        if st.st_mtime > blob.mtime or st.st_nlink > 1:
            report.touched_meanwhile += 1
            continue
        if delete:
            try:
                blob.path.unlink()
            except OSError as exc:
                report.errors.append(f"cannot delete {blob.path}: {exc.strerror}")
                continue
            remove_empty_dirs(blob.path.parent, layout.stored)
        report.deleted.append(blob.path)
        report.bytes_freed += blob.size

    if layout.uploading.is_dir():
        abandoned_before = now - UPLOAD_ABANDONED_AFTER_S
        for temp in _walk_files(layout.uploading, UPLOAD_SUFFIX, report):
            try:
                if temp.lstat().st_mtime >= abandoned_before:
                    continue
                if delete:
                    temp.unlink()
                    remove_empty_dirs(temp.parent, layout.uploading)
            except OSError as exc:
                report.errors.append(f"cannot remove {temp}: {exc.strerror}")
                continue
            report.stale_uploads.append(temp)
    return report
