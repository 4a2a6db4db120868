"""Rules for file paths that arrive in requests, so none can reach outside where it belongs.

Two kinds: paths *inside* a root (`/job-files/<path>`) must be plain relative
paths; paths *on the Manager's machine* (shared storage, Blender) may be
absolute but may not climb with `..`, also not percent-encoded (`%2e%2e`),
since a client or a later step might decode them.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .paths import UnsafePath

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_SEPARATORS_RE = re.compile(r"[/\\]")


class PathRefused(UnsafePath):
    """A path from a request that is not acceptable; the message says why."""


def checked_relative(path: str) -> str:
    """`path` when it is a plain relative path (segments joined by `/`), else raise PathRefused.

    The web server has already decoded one level of percent-encoding, so a
    `%` left over means a double-encoded trick and is refused too.
    """
    if not path:
        raise PathRefused("no file named")
    if "\x00" in path or "\\" in path or "%" in path:
        raise PathRefused("backslashes, NUL bytes and percent signs are not allowed")
    if path.startswith("/") or _DRIVE_RE.match(path):
        raise PathRefused("absolute paths are not allowed")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise PathRefused("empty, '.' and '..' path segments are not allowed")
    return path


def _decodings(text: str, rounds: int = 3) -> list[str]:
    found = [text]
    for _ in range(rounds):
        decoded = unquote(found[-1])
        if decoded == found[-1]:
            break
        found.append(decoded)
    return found


def refuse_dot_segments(path: str) -> str:
    """`path` unless it has a NUL byte or a `..` segment (plain or percent-encoded)."""
    if "\x00" in path:
        raise PathRefused("NUL bytes are not allowed in paths")
    for variant in _decodings(path):
        if any(part == ".." for part in _SEPARATORS_RE.split(variant)):
            raise PathRefused("'..' path segments are not allowed; give the path without them")
    return path
