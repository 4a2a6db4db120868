"""Bundled job types: settings, etags and worked examples A, B, C of job-types.md §4."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from flamenco_pkg.manager.job_types import CompiledJob, JobTypeRegistry

PY = ("import bpy; r = bpy.context.scene.render; r.use_file_extension = True; "
      "r.use_overwrite = False; r.use_placeholder = False")
FFMPEG_ARGS_HEAD = ["-c:v", "h264", "-crf", "20", "-g", "18", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                    "-pix_fmt", "yuv420p", "-r"]
CLOCK = dt.datetime(2006, 1, 2, 15, 4, 5)  # local time, as in the worked examples


@pytest.fixture()
def registry(tmp_path) -> JobTypeRegistry:
    return JobTypeRegistry(tmp_path / "no-such-folder")


def submit(registry: JobTypeRegistry, job_type: str, settings: dict, **extra) -> CompiledJob:
    job = {
        "id": "5c7e6b27-34c8-4bb7-9a2a-7d11f6d6f0c1", "name": "test job", "type": job_type,
        "priority": 50, "settings": settings, "metadata": {}, "worker_tag": "",
        "shaman_checkout_id": "", "created": CLOCK.astimezone(),
    }
    job.update(extra)
    return registry.compile(job)


def test_list_bundled_types_sorted_with_etags(registry):
    types = registry.list_types()
    assert [t["name"] for t in types] == ["echo-sleep-test", "simple-blender-render"]
    etags = {t["name"]: t["etag"] for t in types}
    assert etags["echo-sleep-test"] == "eba586e16d6b55baaa43e32f9e78ae514b457fee"
    assert etags["simple-blender-render"] == "6f6b4fce9301252a6ab4a9a213a2f0ad447eccd5"


def test_echo_sleep_test_definition(registry):
    assert registry.get_type("echo-sleep-test") == {
        "name": "echo-sleep-test",
        "label": "Echo Sleep Test",
        "settings": [
            {"key": "message", "type": "string", "required": True},
            {"key": "sleep_duration_seconds", "type": "int32", "default": 1},
            {"key": "sleep_repeats", "type": "int32", "default": 1},
        ],
        "etag": "eba586e16d6b55baaa43e32f9e78ae514b457fee",
    }


def test_simple_blender_render_settings_table(registry):
    info = registry.get_type("simple-blender-render")
    assert info["label"] == "Simple Blender Render"
    assert info["description"] == "Render a sequence of frames, and create a preview video file"
    settings = {s["key"]: s for s in info["settings"]}
    assert list(settings) == ["frames", "chunk_size", "render_output_root", "add_path_components",
                              "render_output_path", "blendfile", "fps", "format", "image_file_extension",
                              "has_previews", "scene"]
    assert settings["frames"]["evalInfo"] == {"showLinkButton": True, "description": "Scene frame range"}
    assert settings["frames"]["eval"] == "f'{C.scene.frame_start}-{C.scene.frame_end}'"
    assert (settings["chunk_size"]["type"], settings["chunk_size"]["default"],
            settings["chunk_size"]["visible"]) == ("int32", 1, "submission")
    assert settings["render_output_root"]["subtype"] == "dir_path"
    assert settings["add_path_components"]["propargs"] == {"min": 0, "max": 32}
    assert settings["render_output_path"]["editable"] is False
    assert settings["render_output_path"]["subtype"] == "file_path"
    assert settings["fps"] == {"key": "fps", "type": "float", "visible": "hidden",
                               "eval": "C.scene.render.fps / C.scene.render.fps_base"}
    assert [settings[k]["visible"] for k in ("blendfile", "format", "scene")] == ["web"] * 3
    assert settings["has_previews"]["type"] == "bool" and settings["has_previews"]["required"] is False
    assert settings["image_file_extension"]["visible"] == "hidden"


D_A = "/render/sprites/farm_output/promo/square_ellie/square_ellie.lighting_light_breakdown2"
SETTINGS_A = {
    "blendfile": "/render/sf/jobs/scene123.blend", "chunk_size": 3, "format": "PNG", "fps": 24.0,
    "frames": "1-10", "image_file_extension": ".png", "render_output_path": f"{D_A}/######",
}


def render_params(blendfile: str, frames: str, output: str, fmt: str, scene: str | None = None) -> dict:
    args = ["--scene", scene] if scene else []
    args += ["--python-expr", PY, "--render-output", output, "--render-format", fmt, "--render-frame", frames]
    return {"exe": "{blender}", "exeArgs": "{blenderArgs}", "argsBefore": [], "blendfile": blendfile, "args": args}


def test_example_a(registry):
    job = submit(registry, "simple-blender-render", dict(SETTINGS_A))
    names = [t.name for t in job.tasks]
    assert names == ["render-1-3", "render-4-6", "render-7-9", "render-10", "preview-video"]

    renders = job.tasks[:4]
    for task, frames, steps in zip(renders, ["1..3", "4..6", "7..9", "10"], [3, 3, 3, 1]):
        assert (task.type, task.priority, task.dependencies) == ("blender", 50, [])
        [command] = task.commands
        assert command.name == "blender-render"
        assert command.total_step_count == steps
        assert command.parameters == render_params("/render/sf/jobs/scene123.blend", frames,
                                                   f"{D_A}/######", "PNG")

    video = job.tasks[4]
    assert video.type == "ffmpeg"
    assert video.dependencies == [t.uuid for t in renders]
    [command] = video.commands
    assert (command.name, command.total_step_count) == ("frames-to-video", 0)
    assert command.parameters == {
        "exe": "ffmpeg", "fps": 24, "inputGlob": f"{D_A}/*.png", "outputFile": f"{D_A}/scene123-1-10.mp4",
        "args": FFMPEG_ARGS_HEAD + [24, "-y"],
    }
    assert isinstance(command.parameters["fps"], int)
    assert sum(t.steps_total for t in job.tasks) == 11
    assert len({t.uuid for t in job.tasks}) == 5
    # Nothing was expanded, so the stored settings equal the submitted ones (24.0 became 24).
    assert job.settings == {**SETTINGS_A, "fps": 24}


def test_example_a_with_scene(registry):
    job = submit(registry, "simple-blender-render", {**SETTINGS_A, "scene": "Test Scene"})
    assert job.tasks[0].commands[0].parameters["args"][:3] == ["--scene", "Test Scene", "--python-expr"]


def test_example_a_windows_paths(registry):
    settings = {**SETTINGS_A, "blendfile": "R:\\sf\\jobs\\scene123.blend",
                "render_output_path": "R:\\farm_output\\shot\\######"}
    job = submit(registry, "simple-blender-render", settings)
    params = job.tasks[0].commands[0].parameters
    assert params["blendfile"] == "R:\\sf\\jobs\\scene123.blend"
    assert params["args"][params["args"].index("--render-output") + 1] == "R:/farm_output/shot/######"
    video = job.tasks[-1].commands[0].parameters
    assert video["inputGlob"] == "R:/farm_output/shot/*.png"
    assert video["outputFile"] == "R:/farm_output/shot/scene123-1-10.mp4"


def test_example_b(registry):
    settings = {
        "frames": "1-5,8", "chunk_size": 2, "format": "OPEN_EXR", "has_previews": True, "fps": 23.976,
        "image_file_extension": ".exr", "scene": "Scene.001", "blendfile": "/jobs/sh010.flamenco.blend",
        "render_output_path": "/render/shots/sh010 lighting/{timestamp}/######",
    }
    job = submit(registry, "simple-blender-render", settings)
    d = "/render/shots/sh010 lighting/2006-01-02_150405"
    assert job.settings["render_output_path"] == f"{d}/######"
    assert [t.name for t in job.tasks] == ["render-1,2", "render-3,4", "render-5,8", "preview-video"]
    for task, frames in zip(job.tasks[:3], ["1,2", "3,4", "5,8"]):
        [command] = task.commands
        assert command.total_step_count == 2
        assert command.parameters == render_params("/jobs/sh010.flamenco.blend", frames, f"{d}/######",
                                                   "OPEN_EXR", scene="Scene.001")
    video = job.tasks[3]
    assert video.dependencies == [t.uuid for t in job.tasks[:3]]
    assert video.commands[0].parameters == {
        "exe": "ffmpeg", "fps": 23.976, "inputGlob": f"{d}/*.jpg", "outputFile": f"{d}/sh010-1-8.mp4",
        "args": FFMPEG_ARGS_HEAD + [23.976, "-y"],
    }


def test_example_b_timestamp_follows_manager_timezone(registry, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        created = dt.datetime(2006, 1, 2, 9, 34, 5, tzinfo=dt.timezone.utc)  # 15:04:05 in India
        job = submit(registry, "simple-blender-render",
                     {**SETTINGS_A, "render_output_path": "/out/{timestamp}/{other}/######"}, created=created)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert job.settings["render_output_path"] == "/out/2006-01-02_150405/{other}/######"


@pytest.mark.parametrize("changes", [
    {"format": "OPEN_EXR", "has_previews": False},
    {"format": "EXR"},
    {"fps": 0},
    {"fps": None},
])
def test_no_preview_video(registry, changes):
    job = submit(registry, "simple-blender-render", {**SETTINGS_A, **changes})
    assert [t.name for t in job.tasks] == ["render-1-3", "render-4-6", "render-7-9", "render-10"]


@pytest.mark.parametrize("fmt", ["FFMPEG", "AVI_RAW", "AVI_JPEG"])
def test_video_formats_rejected(registry, fmt):
    from flamenco_pkg.manager.job_types import CompileError
    with pytest.raises(CompileError) as excinfo:
        submit(registry, "simple-blender-render", {**SETTINGS_A, "format": fmt})
    assert excinfo.value.http_status == 400
    assert excinfo.value.message == f'This job type only renders images, and not "{fmt}"'


def test_missing_render_output_path_rejected(registry):
    from flamenco_pkg.manager.job_types import CompileError
    with pytest.raises(CompileError, match="no render_output_path setting!"):
        submit(registry, "simple-blender-render", {**SETTINGS_A, "render_output_path": ""})


def test_example_c_defaults_not_applied(registry):
    job = submit(registry, "echo-sleep-test", {"message": "hey"})
    [echo] = job.tasks
    assert (echo.name, echo.type, echo.dependencies) == ("echo", "misc", [])
    assert [(c.name, c.parameters) for c in echo.commands] == [("echo", {"message": "hey"})]


def test_example_c_with_sleeps(registry):
    job = submit(registry, "echo-sleep-test", {"message": "hi", "sleep_duration_seconds": 3, "sleep_repeats": 2})
    assert [t.name for t in job.tasks] == ["echo", "sleep", "sleep"]
    echo = job.tasks[0]
    for sleep in job.tasks[1:]:
        assert sleep.type == "misc"
        assert sleep.dependencies == [echo.uuid]
        assert [(c.name, c.parameters) for c in sleep.commands] == [("sleep", {"duration_in_seconds": 3})]
    assert job.tasks[1].uuid != job.tasks[2].uuid
