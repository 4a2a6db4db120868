"""`make-directory`, `move-directory`, `copy-file`: file management on shared storage.

Each step is logged to the task log, so a failed job shows what was already
done. Nothing here ever overwrites: an existing move destination is renamed
aside first, and copying onto an existing file is an error.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import time
from collections.abc import Callable

from . import CommandContext
from .params import CommandError, invalid, mandatory_str, missing


def _os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


def make_directory(ctx: CommandContext) -> None:
    path = mandatory_str("make-directory", ctx.params, "path")
    ctx.log(f'make-directory: creating directory "{path}"')
    try:
        os.makedirs(path, mode=0o775, exist_ok=True)
    except OSError as exc:
        ctx.log(f'make-directory: could not create directory "{path}": {_os_error(exc)}')
        raise CommandError(f'make-directory: could not create directory "{path}": {_os_error(exc)}') from exc


def backup_name(dest: str, mtime: float, existing: Callable[[str], bool] = os.path.lexists,
                pattern_matches: Callable[[str], list[str]] = glob.glob) -> str:
    """Where an existing `dest` goes: `dest-<mtime>`, or `dest-<mtime>-NNN` when that is taken."""
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(round(mtime)))
    backup = f"{dest}-{stamp}"
    if not existing(backup):
        return backup
    highest = 0
    for other in pattern_matches(glob.escape(backup) + "-*"):
        m = re.search(r"-([0-9]+)$", other)
        if m:
            highest = max(highest, int(m.group(1)))
    return f"{backup}-{highest + 1:03d}"


def _move(ctx: CommandContext, src: str, dest: str) -> None:
    ctx.log(f'move-directory: moving "{src}" to "{dest}"')
    try:
        os.rename(src, dest)
    except OSError as exc:
        ctx.log(f'move-directory: could not move "{src}" to "{dest}": {_os_error(exc)}')
        raise CommandError(f'move-directory: could not move "{src}" to "{dest}": {_os_error(exc)}') from exc


def move_directory(ctx: CommandContext) -> None:
    src = mandatory_str("move-directory", ctx.params, "src")
    dest = mandatory_str("move-directory", ctx.params, "dest")
    if not os.path.lexists(src):
        ctx.log(f'move-directory: source path "{src}" does not exist, not moving anything')
        raise invalid("move-directory", "src", src, "path does not exist")
    if os.path.lexists(dest):
        _move(ctx, dest, backup_name(dest, os.lstat(dest).st_mtime))
    _move(ctx, src, dest)


def copy_file_problem(params: dict) -> CommandError | None:
    """The first reason (in upstream's order) why these copy-file parameters cannot work."""
    src, dest = params.get("src"), params.get("dest")
    if not isinstance(src, str) or not src:
        return missing("copy-file", "src", params)
    if not os.path.isabs(src):
        return invalid("copy-file", "src", src, "source path must be absolute")
    if not os.path.lexists(src):
        return invalid("copy-file", "src", src, "source path does not exist")
    if not isinstance(dest, str) or not dest:
        return missing("copy-file", "dest", params)
    if not os.path.isabs(dest):
        return invalid("copy-file", "dest", dest, "destination path must be absolute")
    if os.path.lexists(dest):
        return invalid("copy-file", "dest", dest, "destination path already exists, not overwriting")
    return None


def copy_file(ctx: CommandContext) -> None:
    problem = copy_file_problem(ctx.params)
    if problem is not None:
        ctx.log(str(problem))
        raise problem
    src, dest = ctx.params["src"], ctx.params["dest"]
    ctx.log(f'copy-file: copying "{src}" to "{dest}"')
    try:
        if not os.path.isfile(src):
            raise OSError(f'"{src}" is not a regular file')
        parent = os.path.dirname(dest)
        if parent and not os.path.isdir(parent):
            os.makedirs(parent, mode=0o750, exist_ok=True)
        # Bytes only, like upstream: permissions and times come from the destination side.
        with open(src, "rb") as fin, open(dest, "xb") as fout:
            shutil.copyfileobj(fin, fout, 1024 * 1024)
    except OSError as exc:
        msg = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
        ctx.log(f"copy-file: {msg}")
        raise CommandError(f"copy-file: {msg}") from exc
    ctx.log(f'copy-file: copied "{src}" to "{dest}"')
