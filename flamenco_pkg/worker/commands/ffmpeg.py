"""`frames-to-video`: FFmpeg turns rendered frames into a video.

FFmpeg reads a glob pattern directly on POSIX systems; its Windows builds
cannot, so there the Worker expands the glob itself and hands FFmpeg a
concat index file, deleted after the run.
"""

from __future__ import annotations

import glob as globmod
import os
from collections.abc import Callable
from dataclasses import dataclass

from . import CommandContext
from .params import (CommandError, decimal_text, invalid, mandatory_str, missing, optional_list, optional_str,
                     shell_split)

INDEX_NAME = "ffmpeg-file-index.txt"
CMD = "frames-to-video"


@dataclass
class FFmpegPlan:
    argv: list[str]
    index_file: str = ""  # concat index to write before and delete after the run
    index_text: str = ""


def fps_value(params: dict) -> float:
    if "fps" not in params or params["fps"] is None:
        raise missing(CMD, "fps", params)
    value = params["fps"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(CMD, "fps", value, "must be a number")
    if value == 0:
        raise invalid(CMD, "fps", value, "must be non-zero")
    return float(value)


LINE_BREAKS = ("\n", "\r")


def refuse_line_breaks(what: str, path: str) -> None:
    """A line break in a name would end FFmpeg's concat line and start a directive of its own."""
    if any(brk in path for brk in LINE_BREAKS):
        raise CommandError(f"{CMD}: {what} {path!r} contains a line break, which FFmpeg cannot be given "
                           "safely; rename it")


def concat_index(files: list[str], fps: float) -> str:
    """FFmpeg concat-demuxer text: every frame shown for 1/fps seconds.

    The format is line-based, so a file name with a line break is refused.
    """
    duration = f"{1.0 / fps:.6f}"
    lines = []
    for path in files:
        refuse_line_breaks("file name", path)
        quoted = path.replace("'", "'\\''")  # close quote, escaped quote, reopen
        lines.append(f"file '{quoted}'\nduration {duration}\n")
    return "".join(lines)


def plan(params: dict, platform: str, find_ffmpeg: Callable[[], str | None],
         glob: Callable[[str], list[str]] = globmod.glob) -> FFmpegPlan:
    """The FFmpeg command line (and concat index, on Windows) for these parameters."""
    exe = mandatory_str(CMD, params, "exe")
    fps = fps_value(params)
    input_glob = mandatory_str(CMD, params, "inputGlob")
    output_file = mandatory_str(CMD, params, "outputFile")
    refuse_line_breaks("inputGlob", input_glob)
    refuse_line_breaks("outputFile", output_file)
    if exe in ("ffmpeg", "ffmpeg.exe"):
        found = find_ffmpeg()
        if not found:
            raise invalid(CMD, "exe", exe, "FFmpeg not found next to the Worker nor on the PATH")
        exe = found
    exe_args = shell_split(CMD, "exeArgs", optional_str(params, "exeArgs"))
    before = optional_list(CMD, params, "argsBefore")
    after = optional_list(CMD, params, "args")
    rate = decimal_text(fps)
    result = FFmpegPlan(argv=[])
    if platform == "windows":
        files = sorted(glob(input_glob))
        if not files:
            raise CommandError(f"creating input for FFmpeg: no files found at {input_glob}")
        result.index_file = os.path.join(os.path.dirname(input_glob), INDEX_NAME)
        result.index_text = concat_index(files, fps)
        input_args = ["-f", "concat", "-safe", "0", "-i", result.index_file]
    else:
        input_args = ["-r", rate, "-pattern_type", "glob", "-i", input_glob.replace("\\", "/")]
    result.argv = [exe, *exe_args, *before, *input_args, *after, "-r", rate, output_file]
    return result


def run(ctx: CommandContext) -> None:
    todo = plan(ctx.params, ctx.platform, ctx.find_ffmpeg)
    if not todo.index_file:
        ctx.run(todo.argv, None)
        return
    try:
        with open(todo.index_file, "w", encoding="utf-8") as f:
            f.write(todo.index_text)
    except OSError as exc:
        raise CommandError(f"creating input for FFmpeg: {exc}") from exc
    try:
        ctx.run(todo.argv, None)
    finally:
        try:
            os.unlink(todo.index_file)
        except OSError:
            pass

