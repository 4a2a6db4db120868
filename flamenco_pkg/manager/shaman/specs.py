"""File specs and checkout paths: what a client may ask for (pure, no I/O).

Everything a client sends that ends up as a path on disk passes through here
first, so a checkout can never reach outside the checkout root: checkout
paths follow upstream's pattern, and file paths inside a checkout must be
plain relative POSIX paths without `..`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
# Upstream's rule for checkout paths: no leading separator, none of ?*:;{}\ anywhere.
CHECKOUT_PATH_RE = re.compile(r"^[^/?*:;{}\\][^?*:;{}\\]*$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
MAX_PATH_LENGTH = 4096


class SpecError(ValueError):
    """A file spec or checkout path the Manager refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class BlobKey:
    """Identity of a stored file: its SHA-256 and its size."""

    sha: str
    size: int

    def short(self) -> str:
        return f"{self.sha[:12]}…"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One file of a checkout: which blob, and where it goes (relative POSIX path)."""

    sha: str
    size: int
    path: str

    @property
    def key(self) -> BlobKey:
        return BlobKey(self.sha, self.size)


def check_blob_key(sha: Any, size: Any) -> BlobKey:
    """A valid (sha, size) pair, or SpecError."""
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise SpecError(f"checksum {str(sha)[:80]!r} is not a SHA-256 in lowercase hexadecimal (64 characters)")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise SpecError(f"file size {size!r} is not a whole number of bytes (0 or more)")
    return BlobKey(sha, size)


def check_file_path(path: Any) -> str:
    """A path inside a checkout: relative, POSIX, no `..`, `.` or empty parts.

    Returned unchanged when valid; anything that could land outside the
    checkout (absolute, drive letter, backslash, `..`) is refused.
    """
    if not isinstance(path, str) or not path:
        raise SpecError("a file path is empty")
    shown = path[:200]
    if len(path) > MAX_PATH_LENGTH:
        raise SpecError(f"file path {shown!r}… is longer than {MAX_PATH_LENGTH} characters")
    if "\x00" in path or "\\" in path:
        raise SpecError(f"file path {shown!r} contains a backslash or NUL character; use / between folders")
    if path.startswith("/") or _DRIVE_RE.match(path):
        raise SpecError(f"file path {shown!r} is absolute; paths must be relative to the checkout")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise SpecError(f"file path {shown!r} has an empty, '.' or '..' part")
    return path


def check_checkout_path(path: Any, name: str = "checkoutPath") -> str:
    """The checkout directory a client asks for, relative to the checkout root.

    Follows upstream's pattern (no leading `/`, none of ``?*:;{}\\``) and also
    refuses `..`, `.` and empty parts anywhere, not just `../` and `/..`.
    A trailing `/` is dropped. `name` is what the messages call the value.
    """
    if not isinstance(path, str):
        raise SpecError(f"{name} must be text")
    trimmed = path.rstrip("/")
    shown = path[:200]
    if not trimmed:
        raise SpecError(f"{name} is empty")
    if len(trimmed) > 1024:
        raise SpecError(f"{name} {shown!r}… is longer than 1024 characters")
    if not CHECKOUT_PATH_RE.match(trimmed) or "\x00" in trimmed:
        raise SpecError(f"{name} {shown!r} must not start with / nor contain any of ? * : ; {{ }} \\")
    for part in trimmed.split("/"):
        if part in ("", ".", ".."):
            raise SpecError(f"{name} {shown!r} has an empty, '.' or '..' part")
    return trimmed


def parse_specs(items: Iterable[Mapping[str, Any]], *, check_paths: bool) -> list[FileSpec]:
    """Turn request dicts into FileSpecs; SpecError on the first bad entry."""
    specs = []
    for index, item in enumerate(items):
        try:
            key = check_blob_key(item.get("sha"), item.get("size"))
            path = item.get("path")
            if check_paths:
                path = check_file_path(path)
            elif not isinstance(path, str):
                raise SpecError("path must be text")
        except SpecError as exc:
            raise SpecError(f"files[{index}]: {exc}") from None
        specs.append(FileSpec(key.sha, key.size, path))
    return specs


def unique_blobs(specs: Iterable[FileSpec]) -> list[FileSpec]:
    """One spec per (sha, size), keeping the first path seen (as upstream's requirements)."""
    seen: dict[BlobKey, FileSpec] = {}
    for spec in specs:
        seen.setdefault(spec.key, spec)
    return list(seen.values())


def plan_checkout(specs: Iterable[FileSpec]) -> list[FileSpec]:
    """The files of a checkout, each path once; SpecError on contradictions.

    The same path listed twice with the same blob is harmless (BAT can list a
    file twice); with different blobs, or a path that is both a file and a
    folder, the checkout cannot be built.
    """
    by_path: dict[str, FileSpec] = {}
    for spec in specs:
        other = by_path.get(spec.path)
        if other is None:
            by_path[spec.path] = spec
        elif other.key != spec.key:
            raise SpecError(f"file path {spec.path!r} is listed twice with different contents")
    folders = {str(parent) for path in by_path for parent in PurePosixPath(path).parents if str(parent) != "."}
    clash = sorted(folders & by_path.keys())
    if clash:
        raise SpecError(f"{clash[0]!r} is listed as a file but other files are inside it")
    return list(by_path.values())
