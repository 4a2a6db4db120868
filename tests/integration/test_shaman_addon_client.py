"""The add-on's Shaman uploader (no Blender needed) against a real Manager over HTTP."""

from __future__ import annotations

import importlib
import os
import random

import pytest

from tests.integration.shaman_client import jobs_dir, load_addon, sha, temp_files

ADDON = load_addon()

shaman_client = importlib.import_module(f"{ADDON}.shaman_client")
manager_api = importlib.import_module(f"{ADDON}.manager_api")


def make_files(folder, names_and_data):
    files = []
    for rel, data in names_and_data:
        local = folder / rel.replace("/", "_")
        local.write_bytes(data)
        files.append(shaman_client.PackedFile(local, rel))
    return files


def uploader(manager, tmp_path, **kw):
    client = manager_api.ManagerClient(manager.url)
    return shaman_client.ShamanUploader(client, shaman_client.HashCache(tmp_path / "hashes.json"),
                                        rng=random.Random(1), **kw)


def test_only_missing_files_are_uploaded(manager, tmp_path):
    files = make_files(tmp_path, [("shots/a.blend", b"blend" * 1000), ("tex/wood.png", os.urandom(70_000)),
                                  ("tex/same.png", b"same"), ("tex/same-again.png", b"same")])
    first = uploader(manager, tmp_path).send(files, "job one")
    assert (first.files, first.uploaded_files) == (4, 3)  # two paths, one blob
    assert first.checkout_path == "job one"
    assert (jobs_dir(manager) / "job one" / "tex" / "same-again.png").read_bytes() == b"same"

    files += make_files(tmp_path, [("tex/new.png", b"new texture")])
    second = uploader(manager, tmp_path).send(files, "job one")
    assert second.uploaded_files == 1 and second.uploaded_bytes == len(b"new texture")
    assert second.checkout_path.startswith("job one-")
    assert "1 of 5 files uploaded" in second.summary()


def test_deferred_file_is_uploaded_in_a_later_round(manager, tmp_path):
    busy = {"x.bin": os.urandom(10_000), "y.bin": os.urandom(10_000)}
    files = make_files(tmp_path, [("b.bin", b"other"), *busy.items()])
    # Someone else seems to be uploading x.bin and y.bin: fresh temp files in the store.
    for data in busy.values():
        digest = sha(data)
        pending = manager.workdir / "shared" / "file-store" / "uploading" / digest[:2] / digest[2:]
        pending.mkdir(parents=True)
        (pending / f"{len(data)}-other.tmp").write_bytes(b"")
    statuses = []
    report = uploader(manager, tmp_path, progress=lambda text, _f: statuses.append(text)).send(files, "deferred")
    # The first busy file is deferred (425) and tried again next round; the last file of a
    # round is never deferred, so it is uploaded at once.
    assert sorted(statuses.count(f"Uploading {name}") for name in busy) == [1, 2]
    assert report.uploaded_files == 3
    for name, data in busy.items():
        assert (jobs_dir(manager) / "deferred" / name).read_bytes() == data


def test_file_changed_after_hashing_is_hashed_again(manager, tmp_path):
    files = make_files(tmp_path, [("scene.blend", b"version 1")])
    up = uploader(manager, tmp_path)
    real_checksum = up.hashes.checksum

    def stale_then_real(local):
        # The first hash is computed before the artist saved again.
        if not getattr(stale_then_real, "done", False):
            stale_then_real.done = True
            result = real_checksum(local)
            local.write_bytes(b"version 2, longer")
            return result
        return real_checksum(local)

    up.hashes.checksum = stale_then_real
    report = up.send(files, "changed")
    assert (jobs_dir(manager) / "changed" / "scene.blend").read_bytes() == b"version 2, longer"
    assert report.uploaded_files == 1
    assert temp_files(manager) == []


def test_manager_errors_are_readable(manager, tmp_path):
    files = make_files(tmp_path, [("ok.txt", b"ok")])
    with pytest.raises(manager_api.ManagerError, match="checkoutPath"):
        uploader(manager, tmp_path).send(files, "../outside")
    gone = manager_api.ManagerClient("http://127.0.0.1:9")
    with pytest.raises(manager_api.Unreachable, match="cannot be reached"):
        gone.version()
