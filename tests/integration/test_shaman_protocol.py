"""Shaman over real HTTP: requirements, uploads, checkouts, and what is refused."""

from __future__ import annotations

import os

import pytest

from tests.integration.farm import ManagerProcess, wait_until
from tests.integration.shaman_client import (blob_path, ensure_addon_built, jobs_dir, sha, spec, temp_files,
                                             upload, upload_bytes)

SCENE = b"BLENDER-v304 pretend scene " * 100
TEXTURE = b"\x89PNG pretend texture" * 50


def test_upload_only_what_is_missing_then_checkout(manager, api):
    files = [spec(SCENE, "shots/scene.blend"), spec(TEXTURE, "textures/wood.png"),
             spec(TEXTURE, "textures/wood-again.png")]
    needed = api.post("/api/v3/shaman/checkout/requirements", json={"files": files})
    assert needed.status_code == 200, needed.text
    # Each blob once, with the first path that names it.
    assert [(f["path"], f["status"]) for f in needed.json()["files"]] == [
        ("shots/scene.blend", "unknown"), ("textures/wood.png", "unknown")]

    assert upload_bytes(api, SCENE, filename="scene.blend").status_code == 200
    assert api.get(f"/api/v3/shaman/files/{sha(SCENE)}/{len(SCENE)}").json() == {"status": "stored"}
    assert blob_path(manager, SCENE).read_bytes() == SCENE
    # RFC 2047 file names are accepted (they are only logged).
    assert upload_bytes(api, TEXTURE, filename="=?utf-8?q?h=C3=B6lz.png?=").status_code == 200
    assert upload_bytes(api, TEXTURE).status_code == 208  # already stored
    assert api.post("/api/v3/shaman/checkout/requirements", json={"files": files}).json() == {"files": []}
    assert temp_files(manager) == []

    made = api.post("/api/v3/shaman/checkout/create", json={"files": files, "checkoutPath": "proj/shot-1"})
    assert made.status_code == 200, made.text
    assert made.json() == {"checkoutPath": "proj/shot-1"}
    checkout = jobs_dir(manager) / "proj" / "shot-1"
    scene_link = checkout / "shots" / "scene.blend"
    assert scene_link.is_symlink() and not os.path.isabs(os.readlink(scene_link))
    assert scene_link.read_bytes() == SCENE
    assert (checkout / "textures" / "wood-again.png").read_bytes() == TEXTURE

    again = api.post("/api/v3/shaman/checkout/create", json={"files": files, "checkoutPath": "proj/shot-1"})
    assert again.status_code == 200
    suffixed = again.json()["checkoutPath"]
    assert suffixed.startswith("proj/shot-1-") and len(suffixed) == len("proj/shot-1-") + 4
    assert (jobs_dir(manager) / suffixed / "shots" / "scene.blend").read_bytes() == SCENE


def test_wrong_checksum_or_size_is_refused_and_nothing_kept(manager, api):
    cases = [
        (b"not the texture", sha(TEXTURE), len(b"not the texture")),  # checksum differs
        (TEXTURE[:-1], sha(TEXTURE), len(TEXTURE)),  # body shorter than the URL says
        (TEXTURE + b"!", sha(TEXTURE), len(TEXTURE)),  # body longer
        (iter([TEXTURE[:100], TEXTURE[100:-1]]), sha(TEXTURE), len(TEXTURE)),  # chunked, too short
    ]
    for body, checksum, size in cases:
        resp = upload(api, body, checksum=checksum, size=size)
        assert resp.status_code == 417, resp.text
        error = resp.json()
        assert error["code"] == 417 and error["message"]
        assert api.get(f"/api/v3/shaman/files/{checksum}/{size}").json() == {"status": "unknown"}
    assert temp_files(manager) == []
    assert not (manager.workdir / "shared" / "file-store" / "stored").exists()


BAD_CHECKOUT_PATHS = ["../escape", "/etc/flamenco", "a/../../escape", "a/./b", "a//b", "c:/windows",
                      "a\\..\\b", "x;y", "{jobs}", ""]
BAD_FILE_PATHS = ["../scene.blend", "a/../../scene.blend", "/tmp/scene.blend", "C:/scene.blend",
                  "a\\..\\..\\scene.blend", "a//b", "./a", ""]


def test_checkout_paths_cannot_escape(manager, api):
    assert upload_bytes(api, SCENE).status_code == 200
    for checkout_path in BAD_CHECKOUT_PATHS:
        resp = api.post("/api/v3/shaman/checkout/create",
                        json={"files": [spec(SCENE, "scene.blend")], "checkoutPath": checkout_path})
        assert resp.status_code == 400, (checkout_path, resp.text)
        assert resp.json()["code"] == 400 and "checkoutPath" in resp.json()["message"]
    assert not jobs_dir(manager).exists() or list(jobs_dir(manager).iterdir()) == []
    assert sorted(p.name for p in (manager.workdir / "shared").iterdir()) == ["file-store"]


def test_file_paths_cannot_escape(manager, api):
    assert upload_bytes(api, SCENE).status_code == 200
    for file_path in BAD_FILE_PATHS:
        files = [spec(SCENE, "ok.blend"), spec(SCENE, file_path)]
        resp = api.post("/api/v3/shaman/checkout/create", json={"files": files, "checkoutPath": "job"})
        assert resp.status_code == 400, (file_path, resp.text)
        assert resp.json()["message"].startswith("files[1]")
        # Also refused before anything is uploaded.
        needed = api.post("/api/v3/shaman/checkout/requirements", json={"files": files})
        assert needed.status_code == 400, (file_path, needed.text)
    assert not (jobs_dir(manager) / "job").exists()
    assert sorted(p.name for p in (manager.workdir / "shared").iterdir()) == ["file-store"]


def test_checkout_of_files_not_uploaded_is_refused(manager, api):
    assert upload_bytes(api, SCENE).status_code == 200
    files = [spec(SCENE, "scene.blend"), spec(TEXTURE, "tex.png")]
    resp = api.post("/api/v3/shaman/checkout/create", json={"files": files, "checkoutPath": "job"})
    assert resp.status_code == 424, resp.text
    assert "tex.png" in resp.json()["message"]
    assert not (jobs_dir(manager) / "job").exists()

    assert upload_bytes(api, TEXTURE).status_code == 200
    for files in ([spec(SCENE, "a.blend"), spec(TEXTURE, "a.blend")],  # one path, two contents
                  [spec(SCENE, "a"), spec(TEXTURE, "a/b.png")]):  # a file and a folder
        resp = api.post("/api/v3/shaman/checkout/create", json={"files": files, "checkoutPath": "job"})
        assert resp.status_code == 400, resp.text
    assert not (jobs_dir(manager) / "job").exists()
    assert api.post("/api/v3/shaman/checkout/create", json={"files": files[:1], "checkoutPath": "job"}).ok


def test_bad_checksum_in_url(manager, api):
    for checksum in ("abc", "Z" * 64, sha(SCENE).upper()):
        assert api.get(f"/api/v3/shaman/files/{checksum}/10").status_code == 400
        resp = upload(api, b"0123456789", checksum=checksum, size=10)
        assert resp.status_code == 400 and resp.json()["code"] == 400
    assert api.get(f"/api/v3/shaman/files/{sha(SCENE)}/ten").status_code == 400
    assert upload(api, SCENE, checksum=sha(SCENE), size=len(SCENE),
                  filename="caf\u00e9.blend".encode("utf-8").decode("latin-1")).status_code == 400


def test_shaman_disabled_answers_503(tmp_path):
    manager = ManagerProcess(tmp_path / "m", extra_config="shaman:\n  enabled: false\n").start()
    try:
        api = manager.api()
        calls = [
            api.post("/api/v3/shaman/checkout/requirements", json={"files": [spec(SCENE, "a")]}),
            api.post("/api/v3/shaman/checkout/create", json={"files": [], "checkoutPath": "x"}),
            api.get(f"/api/v3/shaman/files/{sha(SCENE)}/{len(SCENE)}"),
            upload_bytes(api, SCENE),
        ]
        for resp in calls:
            assert resp.status_code == 503, resp.text
            assert resp.json()["code"] == 503 and "disabled" in resp.json()["message"]
        assert not (manager.workdir / "shared" / "file-store").exists()
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def built_addon():
    return ensure_addon_built()


def test_deleting_a_job_removes_its_checkout(manager, api):
    assert upload_bytes(api, SCENE).status_code == 200
    made = api.post("/api/v3/shaman/checkout/create",
                    json={"files": [spec(SCENE, "scene.blend")], "checkoutPath": "show/job-7"}).json()
    job = api.post("/api/v3/jobs", json={
        "name": "j", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "m"}, "storage": {"shaman_checkout_id": made["checkoutPath"]}}).json()
    assert api.get(f"/api/v3/jobs/{job['id']}/what-would-delete-do").json() == {"shaman_checkout": True}
    assert api.delete(f"/api/v3/jobs/{job['id']}").status_code == 204
    wait_until(lambda: not (jobs_dir(manager) / "show").exists(), what="the checkout to be removed")
    assert blob_path(manager, SCENE).exists()  # stored files wait for the garbage collector


def test_addon_download(manager, api, built_addon):
    resp = api.get("/flamenco-addon.zip")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/zip"
    assert resp.content == built_addon.read_bytes()
    old = api.session.get(manager.url + "/flamenco3-addon.zip", allow_redirects=False, timeout=10)
    assert old.status_code == 308 and old.headers["Location"] == "/flamenco-addon.zip"
