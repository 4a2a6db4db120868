"""Shared-storage checks and the configuration the setup assistant and settings editor build."""

from __future__ import annotations

import os

import pytest

from flamenco_pkg.manager import config as config_mod
from flamenco_pkg.manager.config import setup_assistant as sa
from flamenco_pkg.manager.local_storage.path_rules import PathRefused
from flamenco_pkg.manager.variables import Variables


def values(cfg: config_mod.Config, name: str) -> dict[str, str]:
    return {p: v.value for v in cfg.variables[name].values for p in v.platforms}


def test_usable_folder_and_the_write_probe_is_removed(tmp_path):
    result = sa.check_shared_storage(f" {tmp_path} ", {})
    assert result.to_api() == {"path": str(tmp_path), "is_usable": True,
                               "cause": "this folder can be used as shared storage"}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, cause", [
    ("", "empty path"),
    ("missing", "does not exist"),
    ("file.txt", "is a file"),
    ("relative/path", "absolute path"),
    ("\\\\server\\share", "UNC"),
    ("manager", "Manager's program folder"),
])
def test_unusable_folders(tmp_path, name, cause):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "manager").mkdir()
    path = name if name in ("", "relative/path", "\\\\server\\share") else str(tmp_path / name)
    result = sa.check_shared_storage(path, {"program folder": tmp_path / "manager"})
    assert not result.is_usable and cause in result.cause


def test_read_only_folder(tmp_path):
    if os.geteuid() == 0:
        folder = "/sys/kernel"  # sysfs refuses new files even to root
    else:
        tmp_path.chmod(0o500)
        folder = str(tmp_path)
    try:
        result = sa.check_shared_storage(folder, {})
    finally:
        tmp_path.chmod(0o700)
    assert not result.is_usable and "cannot create files" in result.cause


def test_climbing_storage_path_is_refused(tmp_path):
    with pytest.raises(PathRefused):
        sa.check_shared_storage(f"{tmp_path}/x/..", {})


def test_setup_assistant_sets_storage_and_blender_for_this_platform_only(tmp_path):
    current = config_mod.Config()
    current.variables["blender"].values.append(config_mod.VariableValue("/opt/blender", ("freebsd",)))
    new = sa.setup_assistant_config(current, str(tmp_path), "/usr/bin/blender", platform="linux")
    assert new.shared_storage_path == str(tmp_path) and not new.is_first_run
    assert values(new, "blender") == {"linux": "/usr/bin/blender", "windows": "blender.exe",
                                      "darwin": "blender", "freebsd": "/opt/blender"}
    assert values(new, "blenderArgs") == {"all": "-b -y"}
    assert current.is_first_run  # the input is left alone
    looked_up = Variables.from_config(new, "linux").lookup("workers", "linux")
    assert looked_up["blender"]["value"] == "/usr/bin/blender"


def test_default_blender_choice_keeps_the_defaults(tmp_path):
    new = sa.setup_assistant_config(config_mod.Config(), str(tmp_path), None, platform="linux")
    assert values(new, "blender") == values(config_mod.Config(), "blender")


@pytest.mark.parametrize("choice, command", [
    ({"source": "path_envvar", "input": "blender", "path": "/usr/bin/blender", "is_usable": True}, "blender"),
    ({"source": "input_path", "input": "blender", "path": "/usr/bin/blender", "is_usable": True},
     "/usr/bin/blender"),
    ({"source": "system_location", "input": "/a/blender", "path": "/a/blender", "is_usable": True},
     "/a/blender"),
    ({"source": "file_association", "input": "", "path": "C:\\B\\blender.exe", "is_usable": True}, "blender"),
    ({"source": "default", "input": "", "path": "", "is_usable": False}, None),
])
def test_blender_command_per_source(choice, command):
    assert sa.blender_command({"cause": "", **choice}) == command


@pytest.mark.parametrize("choice", [
    {"source": "input_path", "input": "x", "path": "/x/blender", "is_usable": False, "cause": "no"},
    {"source": "input_path", "input": "x", "path": "  ", "is_usable": True, "cause": ""},
    {"source": "input_path", "input": "x", "path": "/opt/../blender", "is_usable": True, "cause": ""},
])
def test_bad_blender_choices(choice):
    with pytest.raises(sa.SetupError):
        sa.blender_command(choice)


def test_settings_editor_names_the_bad_field_and_guards_new_paths(tmp_path):
    current = config_mod.Config()
    body = config_mod.redacted_config_dict(current)
    with pytest.raises(config_mod.ConfigError) as err:
        sa.config_from_request({**body, "worker_timeout": "soon"}, current)
    assert err.value.field == "worker_timeout"
    with pytest.raises(config_mod.ConfigError) as err:
        sa.config_from_request({**body, "local_manager_storage_path": "../../elsewhere"}, current)
    assert err.value.field == "local_manager_storage_path"
    # An unchanged value is not re-judged, so a round trip of what GET gave always works.
    current.local_manager_storage_path = "../storage"
    body = config_mod.redacted_config_dict(current)
    assert sa.config_from_request(body, current).local_manager_storage_path == "../storage"


def test_apply_config_saves_then_swaps(tmp_path):
    path = tmp_path / "flamenco-manager.yaml"

    class FakeManager:
        config = config_mod.Config()
        config_path = path
        variables = Variables.from_config(config)
        config_listeners = [lambda old, new: heard.append((old, new))]

    heard = []
    new = sa.setup_assistant_config(FakeManager.config, str(tmp_path), "/usr/bin/blender", platform="linux")
    sa.apply_config(FakeManager, new, "test")
    assert FakeManager.config is new
    assert heard and heard[0][1] is new  # listeners (MQTT) hear of the change
    assert FakeManager.variables.lookup("workers", "linux")["blender"]["value"] == "/usr/bin/blender"
    assert config_mod.load_config(path).shared_storage_path == str(tmp_path)
