"""Debian's Blender runs a GPU slot's `--python-expr`: with no CUDA device it still renders, on the CPU."""

from __future__ import annotations

import subprocess

from flamenco_pkg.worker.commands.blender import blender_argv
from flamenco_pkg.worker.commands.cycles_device import WARNING_PREFIX, device_args

# A tiny Cycles scene that asks for the GPU, as a studio's files do; there is none here.
SETUP = """import bpy
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "GPU"
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x, scene.render.resolution_y = 32, 18
"""
# Runs after the slot's expression and before the render: what Cycles was left with.
REPORT = "import bpy; print('DEVICE-AFTER', bpy.context.scene.cycles.device)"


def test_no_cuda_device_falls_back_to_the_cpu_with_a_warning(tmp_path, need_blender):
    # No blend file: the factory scene, set up by SETUP where the file would be loaded.
    argv = blender_argv({"exe": "blender", "exeArgs": "-b -y --factory-startup", "blendfile": "",
                         "argsBefore": ["--python-expr", SETUP],
                         "args": ["--python-expr", REPORT, "--render-output", f"{tmp_path}/out/####",
                                  "--render-format", "PNG", "--render-frame", "1"]},
                        device_args=device_args("CUDA"))
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert f"{WARNING_PREFIX} Blender found no CUDA device; Cycles renders on the CPU" in out
    assert "DEVICE-AFTER CPU" in out
    assert (tmp_path / "out" / "0001.png").stat().st_size > 0
