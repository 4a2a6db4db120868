"""Finding Blender and FFmpeg on this machine, for the start-up log and `frames-to-video`."""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("flamenco.worker")


def _first_line(argv: list[str], timeout: float) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return next((line for line in out.stdout.splitlines() if line.strip()), "")


def executable_dir() -> Path:
    return Path(sys.argv[0]).resolve().parent


def ffmpeg_candidates() -> list[Path]:
    """`tools/` beside the Worker program, most specific name first."""
    goos = {"win32": "windows"}.get(sys.platform, "linux" if sys.platform.startswith("linux") else sys.platform)
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    ext = ".exe" if goos == "windows" else ""
    tools = executable_dir() / "tools"
    return [tools / f"ffmpeg-{goos}-{arch}{ext}", tools / f"ffmpeg-{goos}{ext}", tools / f"ffmpeg{ext}"]


def find_ffmpeg() -> str | None:
    """Path of a working FFmpeg: bundled in tools/ first, then the PATH."""
    candidates = [str(p) for p in ffmpeg_candidates() if p.is_file() and os.access(p, os.X_OK)]
    on_path = shutil.which("ffmpeg")
    if on_path:
        candidates.append(on_path)
    for exe in candidates:
        if _first_line([exe, "-version"], 5).startswith("ffmpeg version "):
            return exe
    return None


def ffmpeg_version(exe: str) -> str:
    words = _first_line([exe, "-version"], 5).split()
    return words[2] if len(words) > 2 else "unknown"


def find_blender() -> tuple[str, str] | None:
    """(path, version line) of the Blender this Worker would run by default."""
    candidates = []
    if sys.platform == "darwin":
        candidates.append("/Applications/Blender.app/Contents/MacOS/Blender")
    found = shutil.which("blender")
    if found:
        candidates.append(found)
    for exe in candidates:
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10,
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        version = next((line for line in out.stdout.splitlines() if line.startswith("Blender ")), "")
        if version:
            return exe, version
    return None


def log_tools() -> None:
    blender = find_blender()
    if blender:
        log.info("Blender found: %s (%s)", blender[0], blender[1])
    else:
        log.info("Blender not found on the PATH; tasks must name its full path in the blender variable")
    ffmpeg = find_ffmpeg()
    if ffmpeg:
        log.info("FFmpeg found: %s (version %s)", ffmpeg, ffmpeg_version(ffmpeg))
    else:
        log.info("FFmpeg not found; preview videos will fail on this Worker")


def find_nvidia_gpus() -> tuple[list[str], str]:
    """(GPU indices from `nvidia-smi -L`, why the list is empty) for `-devices auto`."""
    from .devices import parse_nvidia_smi

    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], "nvidia-smi is not on the PATH (no NVIDIA driver installed?)"
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"{exe} -L could not run: {exc}"
    found = parse_nvidia_smi(out.stdout)
    if found:
        return found, ""
    detail = (out.stderr or out.stdout).strip().splitlines()
    return [], f"{exe} -L listed no GPU" + (f" ({detail[0]})" if detail else "")
