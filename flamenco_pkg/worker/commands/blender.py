"""`blender-render`: run Blender, count rendered frames as steps, offer saved frames as previews."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence

from . import CommandContext
from .params import missing, optional_list, optional_str, mandatory_str, shell_split

# Blender up to 4.x writes " Time: 00:00.27 (Saving: 00:00.00)", with a leading space;
# Blender 5 prefixes lines with a time and a category ("00:00.327  render           | Saved: ...").
_PREFIX = r"(?:^\s*|(?:render\s+\|\s+))"
SAVED = re.compile(_PREFIX + r"Saved: '(.*)'")
TIME = re.compile(_PREFIX + r"Time: ([0-9:.]+)")
SKIPPED = re.compile(_PREFIX + r"[sS]kipping existing frame")


def blender_argv(params: dict, which: Callable[[str], str | None] = shutil.which,
                 device_args: Sequence[str] = ()) -> list[str]:
    """exe + exeArgs words + argsBefore + blendfile (unless "") + device_args + args.

    `device_args` (a GPU slot's `--python-expr`) must come after the blend file, whose
    loading would undo its scene settings, and before `args`, which render the frames.
    """
    exe = mandatory_str("blender-render", params, "exe")
    exe_args = shell_split("blender-render", "exeArgs", optional_str(params, "exeArgs"))
    before = optional_list("blender-render", params, "argsBefore")
    if not isinstance(params.get("blendfile"), str):
        raise missing("blender-render", "blendfile", params)
    blendfile = params["blendfile"]
    after = optional_list("blender-render", params, "args")
    return [exe, *exe_args, *before, *([blendfile] if blendfile else []), *device_args, *after]


def parse_line(line: str) -> tuple[str, str] | None:
    """("saved", path) for a written frame, ("step", "") for a finished or skipped frame."""
    m = SAVED.search(line)
    if m:
        return "saved", m.group(1)
    if TIME.search(line) or SKIPPED.search(line):
        return "step", ""
    return None


def run(ctx: CommandContext) -> None:
    argv = blender_argv(ctx.params, device_args=ctx.blender_args)

    def on_line(line: str) -> None:
        found = parse_line(line)
        if found is None:
            return
        kind, value = found
        if kind == "saved":
            ctx.output_produced(value)
        else:
            ctx.step()

    ctx.run(argv, on_line)
