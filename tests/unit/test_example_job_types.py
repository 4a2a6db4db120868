"""The worked example of docs/user-guide/job-types.md loads in the Manager's registry and compiles."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from flamenco_pkg.manager.job_types import CompileError, JobTypeRegistry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "job-types"


def job(settings: dict, **extra) -> dict:
    base = {"id": "0f1e2d3c-4b5a-4968-8776-655443322110", "name": "sh010 lighting", "type": "multi-camera-render",
            "priority": 50, "metadata": {}, "worker_tag": "", "shaman_checkout_id": "",
            "created": dt.datetime(2026, 3, 4, 5, 6, 7).astimezone(), "settings": settings}
    base.update(extra)
    return base


def settings(**changes) -> dict:
    values = {"frames": "1-5", "cameras": "CamA, Cam \"B\"", "chunk_size": 3, "render_output_root": "/render/out",
              "blendfile": "/jobs/sh010/sh010.blend", "scene": "Scene", "format": "PNG",
              "image_file_extension": ".png", "fps": 24.0, "has_previews": False, "render_output_path": ""}
    values.update(changes)
    return values


@pytest.fixture()
def registry() -> JobTypeRegistry:
    return JobTypeRegistry(EXAMPLES)


def test_example_is_listed_with_its_settings(registry):
    names = [t["name"] for t in registry.list_types()]
    assert "multi-camera-render" in names
    info = registry.get_type("multi-camera-render")
    assert info["label"] == "Multi-Camera Render"
    keys = [s["key"] for s in info["settings"]]
    assert keys[:4] == ["frames", "cameras", "chunk_size", "render_output_root"]
    assert info["etag"]


def test_example_compiles_renders_per_camera_then_a_video_each(registry):
    etag = registry.get_type("multi-camera-render")["etag"]
    compiled = registry.compile(job(settings(), type_etag=etag))
    names = [t.name for t in compiled.tasks]
    assert names == ["render-CamA-1-3", "render-CamA-4,5", "video-CamA",
                     'render-Cam "B"-1-3', 'render-Cam "B"-4,5', 'video-Cam "B"']
    by_name = {t.name: t for t in compiled.tasks}

    out = compiled.settings["render_output_path"]
    assert out.startswith("/render/out/sh010_lighting/2026-03-04_0506")
    render = by_name['render-Cam "B"-4,5']
    assert render.type == "blender"
    cmd = render.commands[0]
    assert cmd.name == "blender-render" and cmd.total_step_count == 2
    args = cmd.parameters["args"]
    assert args[:2] == ["--scene", "Scene"]
    expr = args[args.index("--python-expr") + 1]
    assert 's.camera = bpy.data.objects["Cam \\"B\\""]' in expr
    assert args[args.index("--render-output") + 1] == f"{out}/Cam_B_/######"
    assert args[args.index("--render-frame") + 1] == "4,5"

    video = by_name['video-Cam "B"']
    assert video.type == "ffmpeg"
    assert video.dependencies == [by_name['render-Cam "B"-1-3'].uuid, render.uuid]
    params = video.commands[0].parameters
    assert params["inputGlob"] == f"{out}/Cam_B_/*.png"
    assert params["outputFile"] == f"{out}/Cam_B_/Cam_B_.mp4"


def test_camera_name_is_a_python_string_literal(registry):
    """The Python expression Blender runs names the camera exactly, whatever its characters."""
    name = "Cam 'é' \\ \"x\""
    compiled = registry.compile(job(settings(cameras=name.replace(",", ""))))
    args = compiled.tasks[0].commands[0].parameters["args"]
    expr = args[args.index("--python-expr") + 1]
    literal = expr.split("bpy.data.objects[", 1)[1].split("]; ", 1)[0]
    assert json.loads(literal) == name
    assert eval(literal) == name  # noqa: S307 - a string literal, exactly what Blender's Python parses


def test_exr_without_previews_makes_no_video(registry):
    compiled = registry.compile(job(settings(format="OPEN_EXR", image_file_extension=".exr")))
    assert [t.type for t in compiled.tasks] == ["blender"] * 4


@pytest.mark.parametrize("changes, message", [
    ({"cameras": " , "}, "no cameras to render"),
    ({"cameras": "A, B, A"}, 'camera "A" is listed twice'),
    ({"format": "FFMPEG"}, 'writes images, not "FFMPEG"'),
])
def test_artist_mistakes_are_clear_400s(registry, changes, message):
    with pytest.raises(CompileError) as excinfo:
        registry.compile(job(settings(**changes)))
    assert excinfo.value.http_status == 400
    assert message in excinfo.value.message
