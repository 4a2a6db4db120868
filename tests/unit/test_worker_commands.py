"""Each command's argument building and failure rules, without running Blender or FFmpeg."""

from __future__ import annotations

import os
import threading
import time

import pytest

from flamenco_pkg.worker.commands import COMMANDS, CommandContext
from flamenco_pkg.worker.commands.blender import blender_argv, parse_line
from flamenco_pkg.worker.commands.exec_cmd import exec_argv
from flamenco_pkg.worker.commands.ffmpeg import plan
from flamenco_pkg.worker.commands.files import backup_name
from flamenco_pkg.worker.commands.misc import sleep_seconds
from flamenco_pkg.worker.commands.params import CommandError, TaskCanceled

PY = "import bpy; r = bpy.context.scene.render"


class FakeTask:
    """Records what a command reports, and what it would run."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.ran: list[list[str]] = []
        self.steps = 0
        self.outputs: list[str] = []
        self.cancel = threading.Event()

    def ctx(self, name: str, params: dict, platform: str = "linux", lines: list[str] | None = None) -> CommandContext:
        def run(argv, hook):
            self.ran.append(argv)
            for line in lines or []:
                if hook:
                    hook(line)

        def step():
            self.steps += 1

        return CommandContext(name=name, params=params, cancel=self.cancel, log=self.logs.append, step=step,
                              run=run, output_produced=self.outputs.append, platform=platform,
                              find_ffmpeg=lambda: "/opt/ffmpeg/bin/ffmpeg")

    def run(self, name: str, params: dict, **kw) -> None:
        COMMANDS[name](self.ctx(name, params, **kw))


# --- blender-render ---------------------------------------------------------

def test_blender_argv_upstream_order():
    params = {"exe": "blender", "exeArgs": "-b -y", "argsBefore": ["--factory-startup"],
              "blendfile": "/jobs/scene.blend",
              "args": ["--python-expr", PY, "--render-output", "/out/######", "--render-frame", "1..3"]}
    assert blender_argv(params) == ["blender", "-b", "-y", "--factory-startup", "/jobs/scene.blend",
                                    "--python-expr", PY, "--render-output", "/out/######", "--render-frame", "1..3"]


def test_blender_argv_empty_blendfile_is_left_out_but_must_be_present():
    assert blender_argv({"exe": "blender", "blendfile": "", "args": ["-a"]}) == ["blender", "-a"]
    with pytest.raises(CommandError, match='blender-render: mandatory parameter "blendfile" is missing'):
        blender_argv({"exe": "blender", "args": []})
    with pytest.raises(CommandError, match='mandatory parameter "exe" is missing'):
        blender_argv({"exe": "", "blendfile": "x.blend"})
    # A non-string exeArgs counts as empty, as upstream.
    assert blender_argv({"exe": "b", "exeArgs": 5, "blendfile": "f"}) == ["b", "f"]


@pytest.mark.parametrize("line, found", [
    ("Saved: '/render/frame_0001.png'", ("saved", "/render/frame_0001.png")),
    ("00:00.327  render           | Saved: '/r/it''s.png'", ("saved", "/r/it''s.png")),
    (" Time: 00:00.27 (Saving: 00:00.00)", ("step", "")),
    ("Time: 00:01.50 (Saving: 00:00.10)", ("step", "")),
    ("00:01.500  render           | Time: 00:01.50 (Saving: 00:00.10)", ("step", "")),
    ("skipping existing frame \"/r/0001.png\"", ("step", "")),
    ("Fra:2 Mem:9.40M (Peak 10.83M) | Time:00:00.00 | Scene, ViewLayer | Sample 1/1", None),
    ("Info: Saved \"tiny.blend\"", None),
])
def test_blender_output_parsing(line, found):
    assert parse_line(line) == found


def test_blender_render_steps_and_previews_from_output():
    task = FakeTask()
    task.run("blender-render", {"exe": "blender", "blendfile": "f.blend", "args": []}, lines=[
        "Fra:1 Mem:9M | Rendering", "Saved: '/out/0001.png'", " Time: 00:00.10 (Saving: 00:00.00)",
        "Saved: '/out/0002.png'", " Time: 00:00.10 (Saving: 00:00.00)"])
    assert task.ran == [["blender", "f.blend"]]
    assert task.outputs == ["/out/0001.png", "/out/0002.png"]
    assert task.steps == 2


# --- frames-to-video ------------------------------------------------------

FFMPEG_ARGS = ["-c:v", "h264", "-crf", 20, "-g", 18, "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
               "-pix_fmt", "yuv420p", "-r", 24.0, "-y"]


def test_ffmpeg_posix_uses_glob_input_and_finds_bundled_ffmpeg():
    params = {"exe": "ffmpeg", "fps": 24.0, "inputGlob": "D:\\r\\*.png", "outputFile": "/r/s-1-10.mp4",
              "args": FFMPEG_ARGS}
    todo = plan(params, "linux", lambda: "/opt/ffmpeg")
    assert todo.argv == ["/opt/ffmpeg", "-r", "24", "-pattern_type", "glob", "-i", "D:/r/*.png",
                         "-c:v", "h264", "-crf", "20", "-g", "18", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                         "-pix_fmt", "yuv420p", "-r", "24", "-y", "-r", "24", "/r/s-1-10.mp4"]
    assert todo.index_file == ""


def test_ffmpeg_other_exe_and_exeargs_are_used_as_given():
    params = {"exe": "/usr/local/bin/ffmpeg6", "exeArgs": "-hide_banner", "argsBefore": ["-loglevel", "info"],
              "fps": 23.976, "inputGlob": "/r/*.jpg", "outputFile": "/r/out.mp4"}
    argv = plan(params, "linux", lambda: None).argv
    assert argv == ["/usr/local/bin/ffmpeg6", "-hide_banner", "-loglevel", "info", "-r", "23.976",
                    "-pattern_type", "glob", "-i", "/r/*.jpg", "-r", "23.976", "/r/out.mp4"]


def test_ffmpeg_windows_writes_a_concat_index(tmp_path):
    files = [str(tmp_path / "0002.png"), str(tmp_path / "0001.png"), str(tmp_path / "it's.png")]
    params = {"exe": "ffmpeg.exe", "fps": 25, "inputGlob": str(tmp_path / "*.png"), "outputFile": "o.mp4"}
    todo = plan(params, "windows", lambda: "C:/tools/ffmpeg.exe", glob=lambda _pattern: files)
    index = str(tmp_path / "ffmpeg-file-index.txt")
    assert todo.argv == ["C:/tools/ffmpeg.exe", "-f", "concat", "-safe", "0", "-i", index, "-r", "25", "o.mp4"]
    assert todo.index_file == index
    assert todo.index_text.splitlines() == [
        f"file '{tmp_path}/0001.png'", "duration 0.040000",
        f"file '{tmp_path}/0002.png'", "duration 0.040000",
        f"file '{tmp_path}/it'\\''s.png'", "duration 0.040000"]


@pytest.mark.parametrize("platform", ["windows", "linux"])
def test_ffmpeg_refuses_file_names_with_line_breaks(tmp_path, platform):
    """A newline in a frame's name would inject a line into the concat file (Windows)."""
    evil = str(tmp_path / "0001.png'\nfile '/etc/passwd") if platform == "windows" else ""
    files = [str(tmp_path / "0000.png")] + ([evil] if evil else [])
    params = {"exe": "f", "fps": 24, "inputGlob": str(tmp_path / "*.png"), "outputFile": "o.mp4"}
    if platform == "windows":
        with pytest.raises(CommandError, match="file name .* contains a line break"):
            plan(params, platform, lambda: None, glob=lambda _p: files)
    for key in ("inputGlob", "outputFile"):
        for brk in ("\n", "\r"):
            bad = {**params, key: params[key] + brk + "x"}
            with pytest.raises(CommandError, match=f"{key} .* contains a line break"):
                plan(bad, platform, lambda: None, glob=lambda _p: files)


@pytest.mark.parametrize("params, message", [
    ({"fps": 24, "inputGlob": "a", "outputFile": "b"}, 'mandatory parameter "exe" is missing'),
    ({"exe": "f", "inputGlob": "a", "outputFile": "b"}, 'mandatory parameter "fps" is missing'),
    ({"exe": "f", "fps": 0, "inputGlob": "a", "outputFile": "b"}, 'parameter "fps" has invalid value 0'),
    ({"exe": "f", "fps": "24", "inputGlob": "a", "outputFile": "b"}, 'parameter "fps" has invalid value 24'),
    ({"exe": "f", "fps": 24, "outputFile": "b"}, 'mandatory parameter "inputGlob" is missing'),
    ({"exe": "f", "fps": 24, "inputGlob": "a"}, 'mandatory parameter "outputFile" is missing'),
    ({"exe": "f", "fps": 24, "inputGlob": "a", "outputFile": "b", "args": "-y"}, 'parameter "args" has invalid'),
])
def test_ffmpeg_parameter_failures(params, message):
    with pytest.raises(CommandError, match=message):
        plan(params, "linux", lambda: "ffmpeg")


def test_ffmpeg_not_found_and_no_frames():
    with pytest.raises(CommandError, match='parameter "exe" has invalid value ffmpeg'):
        plan({"exe": "ffmpeg", "fps": 24, "inputGlob": "a", "outputFile": "b"}, "linux", lambda: None)
    with pytest.raises(CommandError, match="creating input for FFmpeg: no files found at /r/\\*.png"):
        plan({"exe": "f", "fps": 24, "inputGlob": "/r/*.png", "outputFile": "b"}, "windows", lambda: None,
             glob=lambda _p: [])


def test_ffmpeg_windows_run_deletes_its_index_even_on_failure(tmp_path):
    (tmp_path / "0001.png").write_bytes(b"png")
    task = FakeTask()
    ctx = task.ctx("frames-to-video", {"exe": "f", "fps": 24, "inputGlob": str(tmp_path / "*.png"),
                                       "outputFile": "o.mp4"}, platform="windows")
    seen = []

    def failing_run(argv, hook):
        seen.append((tmp_path / "ffmpeg-file-index.txt").read_text())
        raise CommandError("command exited abnormally with code 1")

    ctx.run = failing_run
    with pytest.raises(CommandError):
        COMMANDS["frames-to-video"](ctx)
    assert "0001.png" in seen[0]
    assert not (tmp_path / "ffmpeg-file-index.txt").exists()


# --- exec, echo, sleep ------------------------------------------------------

def test_exec_argv():
    assert exec_argv({"exe": "/bin/echo", "args": ["a", 1.5]}) == ["/bin/echo", "a", "1.5"]
    with pytest.raises(CommandError, match='exec: mandatory parameter "exe" is missing'):
        exec_argv({"args": ["a"]})


def test_echo_logs_the_message_go_quoted():
    task = FakeTask()
    task.run("echo", {"message": 'hello "farm"'})
    task.run("echo", {"message": 24})
    assert task.logs == ['echo: "hello \\"farm\\""', 'echo: "24"']
    with pytest.raises(CommandError, match='echo: mandatory parameter "message" is missing'):
        task.run("echo", {})


@pytest.mark.parametrize("value, seconds", [(3, 3), (2.9, 2), (0.5, 0), (0, 0)])
def test_sleep_truncates_to_whole_seconds(value, seconds):
    assert sleep_seconds({"duration_in_seconds": value}) == seconds


@pytest.mark.parametrize("value, message", [
    (-1, "has invalid value -1: cannot be negative"),
    ("3", "has invalid value 3: bad type string, expecting int or float"),
    (True, "bad type bool, expecting int or float"),
])
def test_sleep_rejects_bad_durations(value, message):
    with pytest.raises(CommandError, match=message):
        sleep_seconds({"duration_in_seconds": value})


def test_sleep_logs_and_is_cancellable():
    task = FakeTask()
    task.run("sleep", {"duration_in_seconds": 0.4})
    assert task.logs == ["slept 0s"]
    task.cancel.set()
    began = time.monotonic()
    with pytest.raises(TaskCanceled):
        task.run("sleep", {"duration_in_seconds": 60})
    assert time.monotonic() - began < 5


# --- file management ---------------------------------------------------------

def test_make_directory(tmp_path):
    task = FakeTask()
    target = tmp_path / "a" / "b"
    task.run("make-directory", {"path": str(target)})
    task.run("make-directory", {"path": str(target)})  # existing is fine
    assert target.is_dir()
    assert task.logs[0] == f'make-directory: creating directory "{target}"'
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CommandError, match="could not create directory"):
        task.run("make-directory", {"path": str(blocker / "sub")})
    assert task.logs[-1].startswith(f'make-directory: could not create directory "{blocker / "sub"}": ')


def test_move_directory_moves_an_existing_destination_aside(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    (src / "new.txt").write_text("new")
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    stamp = time.mktime((2024, 5, 6, 7, 8, 9, 0, 0, -1))
    os.utime(dest, (stamp, stamp))
    task = FakeTask()
    task.run("move-directory", {"src": str(src), "dest": str(dest)})
    backup = tmp_path / "dest-2024-05-06_070809"
    assert (backup / "old.txt").read_text() == "old"
    assert (dest / "new.txt").read_text() == "new"
    assert not src.exists()
    assert task.logs == [f'move-directory: moving "{dest}" to "{backup}"',
                         f'move-directory: moving "{src}" to "{dest}"']


def test_move_directory_backup_numbering(tmp_path):
    dest = str(tmp_path / "d")
    stamp = time.mktime((2024, 5, 6, 7, 8, 9, 0, 0, -1))
    base = f"{dest}-2024-05-06_070809"
    assert backup_name(dest, stamp, existing=lambda p: False) == base
    taken = [f"{base}-001", f"{base}-046", f"{base}-junk"]
    assert backup_name(dest, stamp, existing=lambda p: True, pattern_matches=lambda _g: taken) == f"{base}-047"
    assert backup_name(dest, stamp, existing=lambda p: True,
                       pattern_matches=lambda _g: [f"{base}-10327"]) == f"{base}-10328"


def test_move_directory_missing_source(tmp_path):
    task = FakeTask()
    with pytest.raises(CommandError, match='move-directory: parameter "src" has invalid value .*path does not exist'):
        task.run("move-directory", {"src": str(tmp_path / "nope"), "dest": str(tmp_path / "d")})
    assert task.logs == [f'move-directory: source path "{tmp_path / "nope"}" does not exist, not moving anything']
    with pytest.raises(CommandError, match='mandatory parameter "dest" is missing'):
        task.run("move-directory", {"src": str(tmp_path)})


def test_copy_file_copies_bytes_and_creates_parents(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"frame data")
    dest = tmp_path / "deep" / "er" / "b.txt"
    task = FakeTask()
    task.run("copy-file", {"src": str(src), "dest": str(dest)})
    assert dest.read_bytes() == b"frame data"
    assert task.logs == [f'copy-file: copying "{src}" to "{dest}"', f'copy-file: copied "{src}" to "{dest}"']


@pytest.mark.parametrize("make_params, message", [
    (lambda t: {"dest": str(t / "x")}, 'mandatory parameter "src" is missing'),
    (lambda t: {"src": "rel.txt", "dest": str(t / "x")}, 'parameter "src" has invalid value rel.txt'),
    (lambda t: {"src": str(t / "nope"), "dest": str(t / "x")}, "source path does not exist"),
    (lambda t: {"src": str(t / "a.txt")}, 'mandatory parameter "dest" is missing'),
    (lambda t: {"src": str(t / "a.txt"), "dest": "rel"}, 'parameter "dest" has invalid value rel'),
    (lambda t: {"src": str(t / "a.txt"), "dest": str(t / "a.txt")}, "already exists"),
    (lambda t: {"src": str(t), "dest": str(t / "copy")}, "is not a regular file"),
])
def test_copy_file_failures_never_overwrite(tmp_path, make_params, message):
    (tmp_path / "a.txt").write_text("keep")
    task = FakeTask()
    with pytest.raises(CommandError, match=message):
        task.run("copy-file", make_params(tmp_path))
    assert (tmp_path / "a.txt").read_text() == "keep"
    assert task.logs[-1].startswith("copy-file: ")
    assert not (tmp_path / "x").exists() and not (tmp_path / "copy").exists()


def test_every_upstream_command_is_known():
    assert set(COMMANDS) == {"blender-render", "frames-to-video", "exec", "echo", "sleep", "make-directory",
                             "move-directory", "copy-file"}
