import copy

import pytest

from flamenco_pkg.manager.config import Config, Variable, VariableValue, config_from_dict
from flamenco_pkg.manager.variables import Variables, ensure_drive_absolute, to_platform_path, trim_trailing_separators


def two_way(**values: str) -> Variable:
    return Variable(is_twoway=True, values=[VariableValue(v, (p,)) for p, v in values.items()])


def example_config() -> Config:
    """§5.3: Linux Manager, Shaman on, shared storage /media/shared/flamenco."""
    cfg = Config()
    cfg.shared_storage_path = "/media/shared/flamenco"
    cfg.shaman.enabled = True
    cfg.variables["my_storage"] = two_way(
        linux="/media/shared/flamenco",
        windows="F:\\flamenco",
        darwin="/Volumes/shared/flamenco",
    )
    return cfg


@pytest.fixture
def example() -> Variables:
    return Variables.from_config(example_config(), manager_platform="linux")


# --- the worked example -------------------------------------------------------


def test_example_macos_submission_is_stored_with_placeholder(example):
    stored = example.replace_two_way_on_submit("/Volumes/Shared/flamenco/renders/sh010/######", "darwin")
    assert stored == "{my_storage}/renders/sh010/######"


def test_example_handout_to_windows_and_linux(example):
    stored = "{my_storage}/renders/sh010/######"
    assert example.expand(stored, "windows") == "F:\\flamenco\\renders\\sh010\\######"
    assert example.expand(stored, "linux") == "/media/shared/flamenco/renders/sh010/######"
    assert example.expand(stored, "darwin") == "/Volumes/shared/flamenco/renders/sh010/######"


def test_example_jobs_for_windows_worker(example):
    assert example.expand("{jobs}/ab12/scene.blend", "windows") == "F:\\flamenco\\jobs\\ab12\\scene.blend"
    assert example.expand("{jobs}/ab12/scene.blend", "linux") == "/media/shared/flamenco/jobs/ab12/scene.blend"


def test_example_blender_for_windows_worker(example):
    assert example.expand("{blender}", "windows") == "blender.exe"
    assert example.expand("{blender}", "linux") == "blender"


def test_blender_args_default(example):
    assert example.expand("{blenderArgs}", "windows") == "-b -y"
    assert example.expand("{blenderArgs}", "linux") == "-b -y"
    assert example.lookup("workers", "plan9")["blenderArgs"] == {"value": "-b -y", "is_twoway": False}


# --- model / lookup -----------------------------------------------------------


def test_lookup_payload(example):
    assert example.lookup("users", "windows") == {
        "blender": {"value": "blender.exe", "is_twoway": False},
        "blenderArgs": {"value": "-b -y", "is_twoway": False},
        "jobs": {"value": "/media/shared/flamenco/jobs", "is_twoway": False},
        "my_storage": {"value": "F:\\flamenco", "is_twoway": True},
    }


def test_lookup_audiences_and_platform_override():
    cfg = Config()
    cfg.variables = {
        "v": Variable(
            values=[
                VariableValue("base", ("all",)),
                VariableValue("lin-workers", ("linux",), "workers"),
                VariableValue("lin-users", ("linux",), "users"),
                VariableValue("win-all", ("windows",), "all"),
            ]
        )
    }
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.lookup("workers", "linux")["v"]["value"] == "lin-workers"
    assert model.lookup("users", "linux")["v"]["value"] == "lin-users"
    assert model.lookup("workers", "windows")["v"]["value"] == "win-all"
    assert model.lookup("users", "windows")["v"]["value"] == "win-all"
    assert model.lookup("users", "darwin")["v"]["value"] == "base"


def test_unknown_platform_gets_only_all_values():
    model = Variables.from_config(Config(), manager_platform="linux")
    assert set(model.lookup("users", "troll")) == {"blenderArgs", "jobs"}


def test_lookup_rejects_unknown_audience(example):
    with pytest.raises(ValueError):
        example.lookup("all", "linux")
    with pytest.raises(ValueError):
        example.lookup("admins", "linux")


def test_platform_and_platforms_merged_from_file():
    cfg = config_from_dict(
        {"variables": {"x": {"values": [{"platform": "linux", "platforms": ["darwin"], "value": "v"}]}}}
    )
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.lookup("workers", "linux")["x"]["value"] == "v"
    assert model.lookup("workers", "darwin")["x"]["value"] == "v"
    assert "x" not in model.lookup("workers", "windows")


def test_two_way_trailing_separators_are_stripped():
    cfg = Config()
    cfg.variables["s"] = two_way(linux="/mnt/share///", windows="S:\\share\\")
    cfg.variables["o"] = Variable(values=[VariableValue("/one/way/", ("linux",))])
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.lookup("workers", "linux")["s"]["value"] == "/mnt/share"
    assert model.lookup("workers", "windows")["s"]["value"] == "S:\\share"
    assert model.lookup("workers", "linux")["o"]["value"] == "/one/way/"


def test_jobs_without_shaman_is_shared_storage():
    cfg = example_config()
    cfg.shaman.enabled = False
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.lookup("workers", "linux")["jobs"] == {"value": "/media/shared/flamenco", "is_twoway": False}


def test_implicit_jobs_wins_over_configured_one():
    variables = {"jobs": two_way(linux="/elsewhere", windows="Z:\\")}
    model = Variables(variables, manager_platform="linux", storage_location="/srv/jobs")
    assert model.lookup("workers", "windows")["jobs"] == {"value": "/srv/jobs", "is_twoway": False}
    assert not model.is_two_way("jobs")


# --- algorithm A: submission --------------------------------------------------


def test_submit_no_match_keeps_value(example):
    assert example.replace_two_way_on_submit("/home/me/file.blend", "linux") == "/home/me/file.blend"
    assert example.replace_two_way_on_submit("", "linux") == ""


def test_submit_longest_prefix_wins():
    cfg = Config()
    cfg.variables["short"] = two_way(linux="/mnt")
    cfg.variables["long"] = two_way(linux="/mnt/projects")
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.replace_two_way_on_submit("/mnt/projects/a.blend", "linux") == "{long}/a.blend"
    assert model.replace_two_way_on_submit("/mnt/other/a.blend", "linux") == "{short}/other/a.blend"


def test_submit_windows_separators_and_case(example):
    assert example.replace_two_way_on_submit("f:/Flamenco/renders/x.png", "windows") == "{my_storage}/renders/x.png"
    assert example.replace_two_way_on_submit("F:\\flamenco\\renders\\x.png", "windows") == "{my_storage}\\renders\\x.png"


def test_submit_only_uses_the_submitters_platform(example):
    # A Linux path submitted from Windows is not recognised.
    assert example.replace_two_way_on_submit("/media/shared/flamenco/x", "windows") == "/media/shared/flamenco/x"


def test_submit_manager_platform_keyword(example):
    assert example.replace_two_way_on_submit("/media/shared/flamenco/x", "manager") == "{my_storage}/x"


def test_submit_requires_path_boundary(example):
    # Deliberate deviation from upstream's plain string prefix test.
    assert example.replace_two_way_on_submit("/media/shared/flamenco2/x", "linux") == "/media/shared/flamenco2/x"
    assert example.replace_two_way_on_submit("/media/shared/flamenco", "linux") == "{my_storage}"


def test_submit_ignores_one_way_and_empty_values():
    cfg = Config()
    cfg.variables["oneway"] = Variable(values=[VariableValue("/mnt", ("linux",))])
    cfg.variables["empty"] = two_way(linux="")
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.replace_two_way_on_submit("/mnt/x", "linux") == "/mnt/x"


def test_apply_to_submission(example):
    settings = {
        "blendfile": "/Volumes/shared/flamenco/shots/a.blend",
        "frames": "1-10",
        "chunk_size": 3,
        "nested": {"path": "/Volumes/shared/flamenco/n"},
        "list": ["/Volumes/shared/flamenco/l"],
    }
    metadata = {"project": "/Volumes/shared/flamenco/proj", "user.name": "me"}
    original = copy.deepcopy((settings, metadata))
    new_settings, new_metadata = example.apply_to_submission(settings, metadata, "darwin")
    assert new_settings["blendfile"] == "{my_storage}/shots/a.blend"
    assert new_settings["frames"] == "1-10"
    assert new_settings["chunk_size"] == 3
    assert new_settings["nested"] == {"path": "/Volumes/shared/flamenco/n"}
    assert new_settings["list"] == ["/Volumes/shared/flamenco/l"]
    assert new_metadata == {"project": "{my_storage}/proj", "user.name": "me"}
    assert (settings, metadata) == original


def test_apply_to_submission_accepts_none(example):
    assert example.apply_to_submission(None, None, "linux") == ({}, {})


# --- algorithm B: hand-out ----------------------------------------------------


def test_expand_for_worker(example):
    commands = [
        {
            "name": "blender-render",
            "parameters": {
                "exe": "{blender}",
                "argsBefore": ["{blenderArgs}", "--python-expr", "import sys"],
                "blendfile": "{jobs}/ab12/scene.blend",
                "args": ["--render-output", "{my_storage}/renders/######", "--frame", 1],
                "nested": {"path": "{my_storage}/x"},
                "count": 3,
            },
            "total_step_count": 2,
        }
    ]
    original = copy.deepcopy(commands)
    out = example.expand_for_worker(commands, "windows", "linux")
    params = out[0]["parameters"]
    assert params["exe"] == "blender.exe"
    assert params["argsBefore"] == ["-b -y", "--python-expr", "import sys"]
    assert params["blendfile"] == "F:\\flamenco\\jobs\\ab12\\scene.blend"
    assert params["args"] == ["--render-output", "F:\\flamenco\\renders\\######", "--frame", 1]
    assert params["nested"] == {"path": "{my_storage}/x"}
    assert params["count"] == 3
    assert out[0]["name"] == "blender-render" and out[0]["total_step_count"] == 2
    assert commands == original  # the stored copy keeps its placeholders
    out[0]["parameters"]["nested"]["path"] = "changed"
    assert commands == original


def test_unknown_placeholders_are_left_alone(example):
    assert example.expand("{nope}/x", "windows") == "{nope}/x"
    assert example.expand("frame_{:04d}", "windows") == "frame_{:04d}"


def test_one_way_values_are_never_separator_converted():
    cfg = Config()
    cfg.variables["tool"] = Variable(values=[VariableValue("C:/tools//bin\\x.exe", ("all",))])
    cfg.variables["script"] = Variable(values=[VariableValue("/opt/scripts//run.py", ("all",))])
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.expand("{tool}", "windows") == "C:/tools//bin\\x.exe"
    assert model.expand("{script} --x a/b", "windows") == "/opt/scripts//run.py --x a/b"
    assert model.expand("{script}", "linux") == "/opt/scripts//run.py"


def test_windows_drive_root_two_way():
    cfg = Config()
    cfg.variables["storage"] = two_way(linux="/mnt/flamenco", windows="F:\\")
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.lookup("workers", "windows")["storage"]["value"] == "F:"
    assert model.expand("{storage}", "windows") == "F:\\"
    assert model.expand("{storage}/shots/a.blend", "windows") == "F:\\shots\\a.blend"
    # A Manager-side path (step c) lands on the drive root, not drive-relative.
    assert model.expand("/mnt/flamenco/shots/a.blend", "windows") == "F:\\shots\\a.blend"
    assert model.expand("/mnt/flamenco", "windows") == "F:\\"
    # Submitted from Windows, back to Linux.
    stored = model.replace_two_way_on_submit("F:\\shots\\a.blend", "windows")
    assert stored == "{storage}\\shots\\a.blend"
    assert model.expand(stored, "linux") == "/mnt/flamenco/shots/a.blend"


def test_step_c_is_case_sensitive_and_needs_both_platforms(example):
    # Wrong case: not the Manager's path, left as is (no path conversion either).
    assert example.expand("/Media/Shared/flamenco/x", "windows") == "/Media/Shared/flamenco/x"
    cfg = example_config()
    cfg.variables["linux_only"] = two_way(linux="/srv/only")
    model = Variables.from_config(cfg, manager_platform="linux")
    assert model.expand("/srv/only/x", "windows") == "/srv/only/x"


def test_manager_platform_override(example):
    # A Windows Manager sees storage as F:\flamenco; hand-out to Linux maps it.
    assert example.expand_for_worker(
        [{"name": "c", "parameters": {"p": "F:\\flamenco\\a\\b"}}], "linux", "windows"
    )[0]["parameters"]["p"] == "/media/shared/flamenco/a/b"


def test_unc_path_kept(example):
    assert to_platform_path("\\\\NAS\\share\\x", "windows") == "\\\\NAS\\share\\x"
    assert to_platform_path("//NAS/share/x", "linux") == "//NAS/share/x"


# --- shared storage -----------------------------------------------------------


def test_shared_storage_for_example(example):
    assert example.shared_storage_for("users", "linux") == "/media/shared/flamenco/jobs"
    assert example.shared_storage_for("users", "windows") == "F:\\flamenco\\jobs"
    assert example.shared_storage_for("users", "darwin") == "/Volumes/shared/flamenco/jobs"
    assert example.shared_storage_for("users", "plan9") == "/media/shared/flamenco/jobs"


def test_shared_storage_windows_manager_per_audience():
    variables = {
        "shared_storage_mapping": Variable(
            is_twoway=True,
            values=[
                VariableValue("/user/shared/storage", ("linux",), "users"),
                VariableValue("/worker/shared/storage", ("linux",), "workers"),
                VariableValue("S:\\storage", ("windows",), "all"),
            ],
        )
    }
    model = Variables(variables, manager_platform="windows", storage_location="S:\\storage\\flamenco")
    assert model.shared_storage_for("users", "linux") == "/user/shared/storage/flamenco"
    assert model.shared_storage_for("workers", "linux") == "/worker/shared/storage/flamenco"
    assert model.shared_storage_for("users", "windows") == "S:\\storage\\flamenco"


def test_shared_storage_drive_letter_root():
    variables = {"m": two_way(linux="/mnt/flamenco", windows="F:\\")}
    model = Variables(variables, manager_platform="linux", storage_location="/mnt/flamenco")
    assert model.shared_storage_for("users", "linux") == "/mnt/flamenco"
    assert model.shared_storage_for("users", "windows") == "F:\\"


def test_shared_storage_first_run_is_empty():
    model = Variables.from_config(Config(), manager_platform="linux")
    assert model.shared_storage_for("users", "windows") == ""


# --- path helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    "path, expected",
    [("", ""), ("/", "/"), ("/a/b/", "/a/b"), ("F:\\", "F:"), ("\\\\", "\\"), ("a//", "a")],
)
def test_trim_trailing_separators(path, expected):
    assert trim_trailing_separators(path) == expected


@pytest.mark.parametrize(
    "path, expected",
    [("F:", "F:\\"), ("F:x\\y", "F:\\x\\y"), ("F:\\x", "F:\\x"), ("/x", "/x"), ("1:", "1:"), ("", "")],
)
def test_ensure_drive_absolute(path, expected):
    assert ensure_drive_absolute(path) == expected


@pytest.mark.parametrize(
    "path, platform, expected",
    [
        ("/a//b/c/", "linux", "/a/b/c"),
        ("F:\\a/b", "linux", "F:/a/b"),
        ("/a/b", "windows", "\\a\\b"),
        ("F:/a//b", "windows", "F:\\a\\b"),
        ("F:", "windows", "F:\\"),
        ("rel\\path", "darwin", "rel/path"),
    ],
)
def test_to_platform_path(path, platform, expected):
    assert to_platform_path(path, platform) == expected
