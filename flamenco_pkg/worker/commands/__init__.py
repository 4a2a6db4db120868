"""The commands a task can contain, by the names job types use.

Each command is a function taking a `CommandContext`; it returns on success
and raises `CommandError` (task fails with that text) or `TaskCanceled`.
Argument building lives in pure functions beside each command so it can be
tested without running anything.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .params import CommandError, TaskCanceled

__all__ = ["COMMANDS", "CommandContext", "CommandError", "TaskCanceled", "go_platform"]


def go_platform() -> str:
    """This OS as Flamenco names platforms (Go's GOOS)."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


@dataclass
class CommandContext:
    """What a running command may use: its parameters and the task's reporting channels."""

    name: str
    params: dict[str, Any]
    cancel: threading.Event
    log: Callable[[str], None]
    """Send one log update now (raises TaskCanceled or a reporting error)."""
    step: Callable[[], None]
    """Count one more step done and report it (failures are only logged)."""
    run: Callable[[list[str], Callable[[str], None] | None], None]
    """Run a program; its output goes to the task log in chunks; the hook sees each line first."""
    output_produced: Callable[[str], None] = lambda _path: None
    """Offer a rendered file to the last-rendered uploader."""
    platform: str = field(default_factory=go_platform)
    find_ffmpeg: Callable[[], str | None] = lambda: None
    blender_args: tuple[str, ...] = ()
    """Added to Blender's command line after the blend file (a GPU slot's device selection)."""


def _registry() -> dict[str, Callable[[CommandContext], None]]:
    from . import blender, exec_cmd, ffmpeg, files, misc

    return {
        "blender-render": blender.run,
        "frames-to-video": ffmpeg.run,
        "exec": exec_cmd.run,
        "echo": misc.echo,
        "sleep": misc.sleep,
        "make-directory": files.make_directory,
        "move-directory": files.move_directory,
        "copy-file": files.copy_file,
    }


COMMANDS: dict[str, Callable[[CommandContext], None]] = _registry()
