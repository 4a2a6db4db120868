"""Validation of what Shaman clients send (pure functions)."""

from __future__ import annotations

import pytest

from flamenco_pkg.manager.shaman.layout import Layout, blob_key_from_path
from flamenco_pkg.manager.shaman.specs import (BlobKey, FileSpec, SpecError, check_blob_key, check_checkout_path,
                                               check_file_path, parse_specs, plan_checkout, unique_blobs)

SHA = "a" * 64


@pytest.mark.parametrize("path", ["job", "proj/shot 1/job-2", "ünïcode/naam", "trailing/"])
def test_checkout_paths_accepted(path):
    assert check_checkout_path(path) == path.rstrip("/")


@pytest.mark.parametrize("path", ["", "/", "/abs", "../up", "a/../b", "a/..", "..", "a/./b", "a//b", "c:/x",
                                  "a\\b", "a?", "a*", "a;b", "{x}", 5, None])
def test_checkout_paths_refused(path):
    with pytest.raises(SpecError):
        check_checkout_path(path)


@pytest.mark.parametrize("path", ["scene.blend", "_outside_project/home/me/tex.png", "a b/c..d/e.png",
                                  "odd:name.png"])
def test_file_paths_accepted(path):
    assert check_file_path(path) == path


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a/./b", "a//b",
                                  "a/", "C:/x", "c:x", "a\\b", "a\x00b", None, 3, "x" * 5000])
def test_file_paths_refused(path):
    with pytest.raises(SpecError):
        check_file_path(path)


@pytest.mark.parametrize("sha,size", [("A" * 64, 1), ("a" * 63, 1), ("g" * 64, 1), (SHA, -1), (SHA, True),
                                      (SHA, 1.5), (None, 1)])
def test_blob_keys_refused(sha, size):
    with pytest.raises(SpecError):
        check_blob_key(sha, size)


def test_parse_specs_names_the_bad_entry():
    with pytest.raises(SpecError, match=r"^files\[1\]: file path '\.\./x'"):
        parse_specs([{"sha": SHA, "size": 1, "path": "a"}, {"sha": SHA, "size": 1, "path": "../x"}],
                    check_paths=True)


def test_unique_blobs_keeps_first_path():
    specs = [FileSpec(SHA, 1, "a"), FileSpec(SHA, 1, "b"), FileSpec(SHA, 2, "c")]
    assert [s.path for s in unique_blobs(specs)] == ["a", "c"]


def test_plan_checkout_rejects_contradictions():
    assert len(plan_checkout([FileSpec(SHA, 1, "a"), FileSpec(SHA, 1, "a")])) == 1
    with pytest.raises(SpecError, match="twice"):
        plan_checkout([FileSpec(SHA, 1, "a"), FileSpec(SHA, 2, "a")])
    with pytest.raises(SpecError, match="other files are inside it"):
        plan_checkout([FileSpec(SHA, 1, "a/b"), FileSpec(SHA, 1, "a/b/c.png")])


def test_layout_round_trip(tmp_path):
    layout = Layout.for_shared_storage(str(tmp_path))
    key = BlobKey(SHA, 1234)
    blob = layout.blob_path(key)
    assert blob == tmp_path.resolve() / "file-store" / "stored" / "aa" / ("a" * 62) / "1234.blob"
    assert blob_key_from_path(layout.stored, blob) == key
    assert blob_key_from_path(layout.stored, layout.stored / "aa" / "stray.txt") is None
    assert layout.checkout_dir("p/q") == tmp_path.resolve() / "jobs" / "p" / "q"
