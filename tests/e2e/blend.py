"""Makes tiny .blend files with Debian's Blender, for render tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = """
import bpy, sys
frames = int(sys.argv[sys.argv.index("--") + 2])
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x = 64
scene.render.resolution_y = 36
scene.render.resolution_percentage = 100
scene.render.fps = 24
scene.render.fps_base = 1
scene.frame_start = 1
scene.frame_end = frames
scene.render.image_settings.file_format = "PNG"
{extra}
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[sys.argv.index("--") + 1])
"""


def make_blend(path: Path, frames: int, extra: str = "") -> Path:
    """A 64x36 Cycles scene (one sample, no denoising) of `frames` frames: the default cube.

    `extra`: Python run on that scene (`bpy`, `scene`) before it is saved.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    script = path.parent / "make_scene.py"
    script.write_text(SCRIPT.replace("{extra}", extra), encoding="utf-8")
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python", str(script), "--", str(path),
                             str(frames)], capture_output=True, text=True, timeout=120)
    assert path.exists(), f"blender did not write {path}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return path
