"""Finding job-type scripts and the files they may `require`.

Everything is re-read on every call, so a render wrangler can drop or edit a
script in the custom folder and see it at the next refresh, without a restart.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

log = logging.getLogger("flamenco.jobtypes")

MIN_SCRIPT_SIZE = 8  # smaller files cannot hold a job type; upstream skips them too

# Bounds on what is handed to the sandbox for `require`.
MAX_MODULE_FILE_SIZE = 1 * 2**20
MAX_MODULE_TOTAL_SIZE = 8 * 2**20
MAX_MODULE_DEPTH = 8


@dataclass(frozen=True)
class ScriptFile:
    """One candidate job-type script."""

    name: str  # job type name, e.g. "simple-blender-render"
    filename: str  # e.g. "simple_blender_render.js"
    origin: str  # "embedded" or the custom folder path, for log messages
    source: str


def embedded_root() -> Traversable:
    return resources.files(__package__).joinpath("scripts")


def job_type_name(filename: str) -> str:
    """`simple_blender_render.js` -> `simple-blender-render`."""
    stem = filename.rsplit(".", 1)[0]
    return stem.replace("_", "-")


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("job type script %s is not valid UTF-8; undecodable bytes were replaced", where)
        return data.decode("utf-8", errors="replace")


def _embedded_scripts() -> list[ScriptFile]:
    found = []
    root = embedded_root()
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".js") or not entry.is_file():
            continue
        data = entry.read_bytes()
        if len(data) < MIN_SCRIPT_SIZE:
            continue
        found.append(ScriptFile(job_type_name(entry.name), entry.name, "embedded",
                                _decode(data, f"embedded/{entry.name}")))
    return found


def _custom_scripts(custom_dir: Path) -> list[ScriptFile]:
    found = []
    try:
        names = sorted(os.listdir(custom_dir))
    except OSError as err:
        log.warning("cannot read job types folder %s: %s", custom_dir, err)
        return found
    for filename in names:
        full = custom_dir / filename
        if not filename.endswith(".js"):
            log.debug("job types folder: ignoring %s, not a .js file", full)
            continue
        try:
            info = os.lstat(full)
        except OSError as err:
            log.warning("job types folder: cannot inspect %s: %s", full, err)
            continue
        if stat.S_ISLNK(info.st_mode):
            log.warning("job types folder: ignoring %s, symlinks are not loaded", full)
            continue
        if not stat.S_ISREG(info.st_mode):
            log.info("job types folder: ignoring %s, not a regular file", full)
            continue
        if info.st_size < MIN_SCRIPT_SIZE:
            log.info("job types folder: ignoring %s, too small to be a job type (%d bytes)", full, info.st_size)
            continue
        try:
            data = full.read_bytes()
        except OSError as err:
            log.warning("job types folder: cannot read %s: %s", full, err)
            continue
        found.append(ScriptFile(job_type_name(filename), filename, str(custom_dir), _decode(data, str(full))))
    return found


def custom_dir_exists(custom_dir: Path | None) -> bool:
    return custom_dir is not None and custom_dir.is_dir()


def find_scripts(custom_dir: Path | None) -> dict[str, list[ScriptFile]]:
    """Candidate scripts per job-type name, weakest first.

    Embedded scripts come first, then the custom folder in file-name order, so
    the last candidate is the one that wins. The caller falls back to earlier
    candidates when a later one does not even parse (upstream skips those).
    """
    candidates: dict[str, list[ScriptFile]] = {}
    scripts = _embedded_scripts()
    if custom_dir_exists(custom_dir):
        scripts += _custom_scripts(custom_dir)
    for script in scripts:
        candidates.setdefault(script.name, []).append(script)
    return candidates


def _walk_traversable(root: Traversable, prefix: str, depth: int, out: dict[str, str], budget: list[int]) -> None:
    if depth > MAX_MODULE_DEPTH:
        return
    try:
        entries = sorted(root.iterdir(), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .git and friends: never modules, possibly large
        rel = f"{prefix}{entry.name}"
        if isinstance(entry, Path) and entry.is_symlink() and entry.is_dir():
            continue  # avoid cycles through symlinked folders
        if entry.is_dir():
            _walk_traversable(entry, rel + "/", depth + 1, out, budget)
            continue
        if not entry.is_file():
            continue
        try:
            data = entry.read_bytes()
        except OSError:
            continue
        if len(data) > MAX_MODULE_FILE_SIZE:
            log.debug("not offering %s to require(): larger than %d bytes", rel, MAX_MODULE_FILE_SIZE)
            continue
        if len(data) > budget[0]:
            log.warning("job types folder holds more than %d bytes of files; some are not available to require()",
                        MAX_MODULE_TOTAL_SIZE)
            return
        budget[0] -= len(data)
        out[rel] = _decode(data, rel)


def module_files(custom_dir: Path | None) -> dict[str, str]:
    """All files that `require()` may load, keyed by path relative to the scripts root.

    The custom folder is read after the embedded one, so on-disk files win.
    """
    files: dict[str, str] = {}
    budget = [MAX_MODULE_TOTAL_SIZE]
    _walk_traversable(embedded_root(), "", 0, files, budget)
    if custom_dir_exists(custom_dir):
        custom: dict[str, str] = {}
        _walk_traversable(custom_dir, "", 0, custom, budget)
        files.update(custom)
    return files
