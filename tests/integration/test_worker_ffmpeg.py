"""frames-to-video with the real FFmpeg: the glob input, and the concat index used where globs are unsupported."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading

import pytest
from PIL import Image

from flamenco_pkg.worker.commands import COMMANDS, CommandContext
from flamenco_pkg.worker.process import run_process
from flamenco_pkg.worker.tools import find_ffmpeg

pytestmark = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg (installed by .ci/run)")


def frames(folder, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        Image.new("RGB", (63, 35), (40 * i, 10, 200)).save(folder / f"{i:06d}.png")  # odd size: needs padding


def run_command(params: dict, platform: str) -> list[str]:
    output: list[str] = []

    def run(argv, hook):
        output.append(" ".join(argv))
        run_process(argv, output.append, threading.Event())

    ctx = CommandContext(name="frames-to-video", params=params, cancel=threading.Event(), log=output.append,
                         step=lambda: None, run=run, platform=platform, find_ffmpeg=find_ffmpeg)
    COMMANDS["frames-to-video"](ctx)
    return output


def count_frames(video) -> int:
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames", "-of", "json", str(video)], capture_output=True, text=True,
                           check=True, timeout=60)
    return int(json.loads(probe.stdout)["streams"][0]["nb_read_frames"])


ARGS = ["-c:v", "h264", "-crf", 20, "-g", 18, "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p",
        "-r", 24.0, "-y"]


@pytest.mark.parametrize("platform", ["linux", "windows"])
def test_frames_become_a_video(tmp_path, platform):
    folder = tmp_path / "render"
    frames(folder, 5)
    video = folder / "preview.mp4"
    output = run_command({"exe": "ffmpeg", "fps": 24.0, "inputGlob": str(folder / "*.png"),
                          "outputFile": str(video), "args": ARGS}, platform)
    assert count_frames(video) == 5
    if platform == "windows":
        assert "-f concat -safe 0 -i" in output[0]
        assert not (folder / "ffmpeg-file-index.txt").exists()
    else:
        assert "-pattern_type glob" in output[0]


def test_no_frames_fails_with_the_reason(tmp_path):
    from flamenco_pkg.worker.commands.params import CommandError

    with pytest.raises(CommandError, match="no files found at"):
        run_command({"exe": "ffmpeg", "fps": 24, "inputGlob": str(tmp_path / "*.png"),
                     "outputFile": str(tmp_path / "x.mp4")}, "windows")
    with pytest.raises(CommandError, match="command exited abnormally with code"):
        run_command({"exe": "ffmpeg", "fps": 24, "inputGlob": str(tmp_path / "*.png"),
                     "outputFile": str(tmp_path / "x.mp4")}, "linux")
