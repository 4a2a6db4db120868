"""Finding and checking Blender, with Debian's real blender and small stand-in scripts."""

from __future__ import annotations

import shutil
import stat
import time
from pathlib import Path

import pytest

from flamenco_pkg.manager.config import blender_check
from flamenco_pkg.manager.local_storage.path_rules import PathRefused

REAL_BLENDER = shutil.which("blender")
needs_blender = pytest.mark.skipif(REAL_BLENDER is None, reason="blender is not installed")


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@needs_blender
def test_real_blender_by_name_and_by_path():
    by_name = blender_check.check_blender("blender")
    assert by_name.is_usable and by_name.path == REAL_BLENDER
    assert by_name.cause.startswith("Found Blender ")
    by_path = blender_check.check_blender(f"  {REAL_BLENDER} ")
    assert by_path.to_api() == {"input": REAL_BLENDER, "path": REAL_BLENDER, "source": "input_path",
                                "is_usable": True, "cause": by_name.cause}


@needs_blender
def test_find_lists_blender_on_path_once():
    found = blender_check.find_blender()
    on_path = [f for f in found if f.source == "path_envvar"]
    assert len(on_path) == 1 and on_path[0].input == "blender" and on_path[0].path == REAL_BLENDER
    assert on_path[0].cause.startswith("Blender ")  # the version, as the setup assistant shows it


def test_a_program_that_is_not_blender(tmp_path):
    fake = script(tmp_path, "blender-fake", "echo 'GNU something 1.0'\n")
    result = blender_check.check_blender(str(fake))
    assert not result.is_usable and "does not seem to be Blender" in result.cause
    failing = script(tmp_path, "blender-broken", "echo 'oh no' >&2\nexit 3\n")
    result = blender_check.check_blender(str(failing))
    assert not result.is_usable and "code 3" in result.cause and "oh no" in result.cause


def test_other_programs_are_never_started(tmp_path):
    marker = tmp_path / "ran"
    tool = script(tmp_path, "rm-everything", f"touch {marker}\necho 'Blender 9.9'\n")
    result = blender_check.check_blender(str(tool))
    assert not result.is_usable and "'blender'" in result.cause
    assert not marker.exists()


def test_hanging_program_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(blender_check, "VERSION_TIMEOUT_S", 0.3)
    slow = script(tmp_path, "blender", "sleep 30\necho 'Blender 1.0'\n")  # sleep is a child of sh
    started = time.monotonic()
    result = blender_check.check_blender(str(slow))
    assert not result.is_usable and "did not answer within 0.3 s" in result.cause
    assert time.monotonic() - started < 5  # the child was killed too, not waited for


def test_missing_unexecutable_and_unknown(tmp_path):
    assert "does not exist" in blender_check.check_blender(str(tmp_path / "blender")).cause
    plain = tmp_path / "blender.txt"
    plain.write_text("Blender 3.0")
    assert "not executable" in blender_check.check_blender(str(plain)).cause
    assert "not a file" in blender_check.check_blender(str(tmp_path)).cause
    assert "not found on $PATH" in blender_check.check_blender("blender-does-not-exist-xyz").cause
    assert not blender_check.check_blender("   ").is_usable


@pytest.mark.parametrize("command", ["/usr/bin/../bin/blender", "bin/blender", "%2e%2e/blender"])
def test_climbing_or_relative_paths_are_refused(command):
    with pytest.raises(PathRefused):
        blender_check.check_blender(command)
