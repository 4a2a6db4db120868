"""Finding Blender on the Manager's machine and checking that a command really is Blender.

Used by the setup assistant. A check runs `<command> --version` (no shell,
stdin closed, killed after a timeout) and reads the version from the first
line that starts with "Blender ". The API that triggers it has no
authentication (as upstream), so only programs whose file name contains
"blender" are ever started: the check cannot be used to run arbitrary tools.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ..local_storage.path_rules import PathRefused, refuse_dot_segments

log = logging.getLogger("flamenco.setup")

VERSION_TIMEOUT_S = 10.0
DEFAULT_COMMAND = "blender"


@dataclass
class BlenderCheck:
    """The API's BlenderPathCheckResult."""

    input: str
    path: str
    source: str  # file_association, path_envvar, system_location, input_path, default
    is_usable: bool
    cause: str

    def to_api(self) -> dict[str, object]:
        return asdict(self)


def _has_separator(command: str) -> bool:
    return "/" in command or "\\" in command


def resolve_command(command: str) -> str | None:
    """The executable `command` names: a PATH lookup for bare names, else the path itself.

    Raises PathRefused for `..` segments, encoded tricks and relative paths
    with folders in them (they would depend on the Manager's working folder).
    """
    refuse_dot_segments(command)
    if not _has_separator(command):
        return shutil.which(command)
    if not os.path.isabs(command):
        raise PathRefused("give an absolute path, or a command name found on $PATH")
    return command


def _looks_like_blender(path: str) -> bool:
    names = {Path(path).name, Path(os.path.realpath(path)).name}
    return any("blender" in name.lower() for name in names)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass


def blender_version(path: str, timeout_s: float | None = None) -> str:
    """Run `path --version`; the "Blender x.y.z" line, or raise RuntimeError saying why not."""
    timeout_s = VERSION_TIMEOUT_S if timeout_s is None else timeout_s
    try:
        # Own process group, so a wrapper script's children die with it on a timeout.
        proc = subprocess.Popen([path, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise RuntimeError(f"cannot run {path}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        raise RuntimeError(f"{path} did not answer within {timeout_s:g} s") from None
    output = stdout.decode("utf-8", errors="replace")
    for line in output.splitlines():
        if line.startswith("Blender "):
            return line.strip()
    if proc.returncode != 0:
        detail = stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise RuntimeError(f"{path} exited with code {proc.returncode}"
                           + (f": {detail[-1]}" if detail else ""))
    first = output.strip().splitlines()[0] if output.strip() else "no output"
    raise RuntimeError(f"{path} does not seem to be Blender (it said: {first[:120]})")


def check_blender(command: str, source: str = "input_path") -> BlenderCheck:
    """Check one command, as the setup assistant's custom-path field does."""
    command = command.strip()
    if not command:
        return BlenderCheck(command, "", source, False, "no Blender command given")
    path = resolve_command(command)
    if path is None:
        return BlenderCheck(command, "", source, False, f"{command!r} was not found on $PATH")
    if not os.path.isfile(path):
        cause = "this is not a file" if os.path.exists(path) else "this file does not exist"
        return BlenderCheck(command, path, source, False, cause)
    if not os.access(path, os.X_OK):
        return BlenderCheck(command, path, source, False, "this file is not executable")
    if not _looks_like_blender(path):
        return BlenderCheck(command, path, source, False,
                            "only programs with 'blender' in their file name are checked")
    try:
        version = blender_version(path)
    except RuntimeError as exc:
        log.info("Blender check of %s failed: %s", path, exc)
        return BlenderCheck(command, path, source, False, str(exc))
    return BlenderCheck(command, path, source, True, f"Found {version}")


def _system_locations() -> list[str]:
    """Where Blender is usually installed, outside $PATH."""
    if sys.platform == "darwin":
        return ["/Applications/Blender.app/Contents/MacOS/Blender"]
    if sys.platform.startswith("win"):
        base = os.environ.get("ProgramFiles", r"C:\Program Files")
        return sorted(glob.glob(os.path.join(base, "Blender Foundation", "Blender*", "blender.exe")),
                      reverse=True)
    return ["/snap/bin/blender"]


def find_blender() -> list[BlenderCheck]:
    """Usable Blenders found on $PATH and in the usual install locations; maybe none.

    The `cause` of each is its version, as the setup assistant shows it.
    """
    candidates: list[tuple[str, str]] = [(DEFAULT_COMMAND, "path_envvar")]
    candidates += [(path, "system_location") for path in _system_locations() if os.path.isfile(path)]
    found: list[BlenderCheck] = []
    seen: set[str] = set()
    for command, source in candidates:
        result = check_blender(command, source)
        if not result.is_usable:
            continue
        real = os.path.realpath(result.path)
        if real in seen:
            continue
        seen.add(real)
        result.cause = result.cause.removeprefix("Found ")
        found.append(result)
    log.info("looked for Blender: %s", ", ".join(f"{r.path} ({r.cause})" for r in found) or "none found")
    return found
