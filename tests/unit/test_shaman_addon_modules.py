"""The add-on's Blender-free modules: job-type settings, versions, project roots, names.

The add-on package is loaded from addon/flamenco under another name, without
Blender; only modules that do not import bpy are used here.
"""

from __future__ import annotations

import importlib

import pytest

from tests.integration.shaman_client import load_addon

ADDON = load_addon()
job_settings = importlib.import_module(f"{ADDON}.job_settings")
project = importlib.import_module(f"{ADDON}.project")
version = importlib.import_module(f"{ADDON}.version")
manager_api = importlib.import_module(f"{ADDON}.manager_api")

FRAMES = {"key": "frames", "type": "string", "eval": "f'{C.scene.frame_start}-{C.scene.frame_end}'",
          "evalInfo": {"showLinkButton": True, "description": "Scene frame range"}}
CHUNK = {"key": "chunk_size", "type": "int32", "default": 1, "visible": "submission",
         "propargs": {"min": "1", "max": 100, "bogus": 3}}
OUTPUT = {"key": "render_output_path", "type": "string", "subtype": "file_path", "editable": False,
          "eval": "'/render/' + jobname"}
FPS = {"key": "fps", "type": "float", "eval": "24 / 1.001", "visible": "hidden"}
CODEC = {"key": "codec", "type": "string", "choices": ["h264", "vp9"], "default": "vp9"}
BAD = {"key": "broken", "type": "int32", "eval": "1 / 0", "default": 7, "visible": "hidden"}
JOB_TYPE = {"name": "t", "settings": [FRAMES, CHUNK, OUTPUT, FPS, CODEC, BAD]}


def test_property_definitions():
    warnings: list[str] = []
    kind, kwargs = job_settings.property_definition(CHUNK, warn=warnings.append)
    assert kind == "IntProperty" and kwargs["default"] == 1 and kwargs["min"] == 1 and kwargs["max"] == 100
    assert "bogus" not in kwargs and any("bogus" in w for w in warnings)
    assert kwargs["name"] == "Chunk Size" and kwargs["options"] == set()
    kind, kwargs = job_settings.property_definition(OUTPUT)
    assert kind == "StringProperty" and kwargs["subtype"] == "FILE_PATH"
    kind, kwargs = job_settings.property_definition(CODEC)
    assert kind == "EnumProperty" and [i[0] for i in kwargs["items"]] == ["h264", "vp9"] and kwargs["default"] == "vp9"
    kind, kwargs = job_settings.property_definition({"key": "n", "type": "int32", "choices": [1, 2]},
                                                    warn=warnings.append)
    assert kind == "IntProperty" and any("choices" in w for w in warnings)
    assert job_settings.property_definition({"key": "h", "subtype": "hashed_file_path"})[1]["subtype"] == "FILE_PATH"


def test_which_settings_are_drawn_and_evaluated():
    assert [s["key"] for s in JOB_TYPE["settings"] if job_settings.is_drawn(s)] == [
        "frames", "chunk_size", "render_output_path", "codec"]
    assert job_settings.has_link_button(FRAMES) and not job_settings.has_link_button(OUTPUT)
    assert job_settings.is_autoeval(FRAMES, {}) and not job_settings.is_autoeval(FRAMES, {"autoeval_frames": False})
    assert job_settings.is_autoeval(FPS, {}) and not job_settings.is_autoeval(CHUNK, {})


def test_settings_for_submission():
    values = {"frames": "manual", "chunk_size": 5, "render_output_path": "", "fps": 0.0, "codec": "h264",
              "broken": 0}
    evaluated = {"frames": "1-10", "render_output_path": "/render/shot", "fps": 23.976}
    warnings: list[str] = []

    def evaluate(setting):
        if setting["key"] == "broken":
            raise ZeroDivisionError("division by zero")
        return evaluated[setting["key"]]

    automatic = job_settings.settings_for_submission(JOB_TYPE, values, {}, evaluate, warn=warnings.append)
    assert automatic == {"frames": "1-10", "chunk_size": 5, "render_output_path": "/render/shot",
                         "fps": 23.976, "codec": "h264", "broken": 7}
    assert any("'1 / 0' failed" in w for w in warnings)
    manual = job_settings.settings_for_submission(JOB_TYPE, values, {"autoeval_frames": False}, evaluate,
                                                  warn=warnings.append)
    assert manual["frames"] == "manual"


@pytest.mark.parametrize("manager,mismatch", [("3.9", False), ("3.9.2", False), ("v3.9", False),
                                              ("3.10", True), ("4.0", True), ("3.9-beta1", False)])
def test_version_mismatch(manager, mismatch):
    assert version.version_mismatch(manager) is mismatch


def test_project_root(tmp_path):
    blend = tmp_path / "proj" / "shots" / "sh010" / "anim.blend"
    blend.parent.mkdir(parents=True)
    (tmp_path / "proj" / ".git").mkdir()
    assert project.find_project_root(blend, "GIT") == tmp_path / "proj"
    assert project.find_project_root(blend, "BLENDER_PROJECT") == blend.parent  # no marker: its own folder
    assert project.find_project_root(blend, "NONE") == blend.parent


@pytest.mark.parametrize("name,safe", [("Shot 010: final?", "Shot 010_ final_"), ("../../etc", "_.._etc"),
                                       ("", "job"), ("a/b\\c", "a_b_c"), ("   ", "job")])
def test_safe_names_are_valid_checkout_paths(name, safe):
    from flamenco_pkg.manager.shaman.specs import check_checkout_path

    assert project.safe_name(name) == safe
    assert check_checkout_path(project.safe_name(name)) == safe
    assert project.pack_folder_name(name, now=0).endswith("-" + safe)


def test_manager_url_normalised():
    assert manager_api.normalise_url("farm:8080/") == "http://farm:8080"
    assert manager_api.normalise_url(" https://farm.studio/flamenco/ ") == "https://farm.studio/flamenco"
    for bad in ("", "ftp://farm", "http://"):
        with pytest.raises(manager_api.ManagerError):
            manager_api.normalise_url(bad)
    assert manager_api.encode_header("caf\u00e9\r\n.blend") == "=?utf-8?b?Y2Fmw6kuYmxlbmQ=?="


def test_start_after_offers_unfinished_jobs_newest_first():
    manager_info = importlib.import_module(f"{ADDON}.manager_info")
    jobs = [{"id": "a", "name": "old", "status": "queued", "created": "2026-01-01T00:00:00Z"},
            {"id": "b", "name": "done", "status": "completed", "created": "2026-01-02T00:00:00Z"},
            {"id": "c", "name": "new", "status": "active", "created": "2026-01-03T00:00:00Z"},
            {"id": "d", "name": "going", "status": "queued", "created": "2026-01-04T00:00:00Z",
             "delete_requested_at": "2026-01-05T00:00:00Z"},
            {"id": "e", "name": "held", "status": "paused", "created": "2026-01-02T12:00:00Z"}]
    assert manager_info.dependable_jobs(jobs) == [{"id": "c", "name": "new", "status": "active"},
                                                 {"id": "e", "name": "held", "status": "paused"},
                                                 {"id": "a", "name": "old", "status": "queued"}]
    many = [{"id": str(i), "name": "j", "status": "queued", "created": f"2026-01-01T00:00:{i:02d}Z"}
            for i in range(60)]
    assert len(manager_info.dependable_jobs(many)) == manager_info.MAX_DEPENDABLE
