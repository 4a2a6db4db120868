"""File store, uploads, link fallbacks, checkouts and GC on a real temporary folder."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import time
from datetime import timedelta

import pytest

from flamenco_pkg.manager import shaman
from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.shaman import links
from flamenco_pkg.manager.shaman.gc import sweep
from flamenco_pkg.manager.shaman.specs import BlobKey, FileSpec
from flamenco_pkg.manager.shaman.uploads import Outcome, UploadRejected

DATA = b"pixels " * 1000


def key_of(data: bytes) -> BlobKey:
    return BlobKey(hashlib.sha256(data).hexdigest(), len(data))


@pytest.fixture
def store(tmp_path) -> shaman.Shaman:
    return shaman.Shaman(shaman.Layout.for_shared_storage(str(tmp_path)))


def put(store: shaman.Shaman, data: bytes) -> BlobKey:
    key = key_of(data)
    assert store.uploads.receive(key, io.BytesIO(data), content_length=len(data), can_defer=False) == Outcome.STORED
    return key


def test_upload_is_verified_before_it_is_stored(store):
    key = key_of(DATA)
    with pytest.raises(UploadRejected, match="SHA-256"):
        store.uploads.receive(key, io.BytesIO(DATA[:-1] + b"?"), content_length=None, can_defer=False)
    with pytest.raises(UploadRejected, match="received 6999 bytes"):
        store.uploads.receive(key, io.BytesIO(DATA[:-1]), content_length=None, can_defer=False)
    with pytest.raises(UploadRejected, match="received 7001 bytes"):
        store.uploads.receive(key, io.BytesIO(DATA + b"!"), content_length=None, can_defer=False)
    with pytest.raises(UploadRejected, match="has 3 bytes"):
        store.uploads.receive(key, io.BytesIO(b"abc"), content_length=3, can_defer=False)
    assert store.status(key) == "unknown"
    assert list(store.layout.file_store.rglob("*.*")) == []

    assert put(store, DATA) == key
    assert store.status(key) == "stored"
    assert store.layout.blob_path(key).read_bytes() == DATA
    again = store.uploads.receive(key, io.BytesIO(DATA), content_length=len(DATA), can_defer=True)
    assert again == Outcome.ALREADY_STORED


def test_empty_file(store):
    assert put(store, b"") == key_of(b"")
    assert store.layout.blob_path(key_of(b"")).read_bytes() == b""


def test_defer_only_for_a_live_upload(store):
    key = key_of(DATA)
    temp, fd = store.store.new_upload_file(key)
    os.close(fd)
    assert store.status(key) == "uploading"
    assert store.uploads.receive(key, io.BytesIO(DATA), content_length=None, can_defer=True) == Outcome.DEFER
    old = time.time() - 3600
    os.utime(temp, (old, old))  # abandoned by a crashed client: no reason to wait for it
    assert store.status(key) == "unknown"
    assert store.uploads.receive(key, io.BytesIO(DATA), content_length=None, can_defer=True) == Outcome.STORED


def test_requirements_touch_stored_files(store):
    key = put(store, DATA)
    old = time.time() - 10 * 24 * 3600
    os.utime(store.layout.blob_path(key), (old, old))
    other = FileSpec("b" * 64, 3, "b.png")
    needed = store.requirements([FileSpec(key.sha, key.size, "a.png"), other, FileSpec("b" * 64, 3, "c.png")])
    assert needed == [{"sha": "b" * 64, "size": 3, "path": "b.png", "status": "unknown"}]
    assert store.layout.blob_path(key).stat().st_mtime > old + 24 * 3600


def test_checkout_uses_relative_symlinks(store):
    key = put(store, DATA)
    result = store.checkouts.create("show/shot", [FileSpec(key.sha, key.size, "tex/a.png")])
    link = result.directory / "tex" / "a.png"
    assert result.path == "show/shot" and result.methods == {"symlink": 1}
    assert not os.path.isabs(os.readlink(link)) and link.read_bytes() == DATA


@pytest.mark.parametrize("refuse_hardlinks", [False, True])
def test_checkout_falls_back_when_symlinks_are_refused(store, monkeypatch, caplog, refuse_hardlinks):
    def no_symlinks(*_args, **_kw):
        raise PermissionError(errno.EPERM, "A required privilege is not held by the client")

    def no_hardlinks(*_args, **_kw):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(links.os, "symlink", no_symlinks)
    if refuse_hardlinks:
        monkeypatch.setattr(links.os, "link", no_hardlinks)
    keys = [put(store, DATA), put(store, DATA + b"2")]
    specs = [FileSpec(k.sha, k.size, f"f{i}.png") for i, k in enumerate(keys)]
    result = store.checkouts.create("job", specs)
    method = "copy" if refuse_hardlinks else "hardlink"
    assert result.methods == {method: 2}
    assert (result.directory / "f0.png").read_bytes() == DATA
    assert not (result.directory / "f0.png").is_symlink()
    assert os.path.samefile(result.directory / "f0.png", store.layout.blob_path(keys[0])) is not refuse_hardlinks
    # The switch is remembered and logged once, not per file.
    assert sum("checkouts use" in r.message for r in caplog.records) == (2 if refuse_hardlinks else 1)


def test_failed_checkout_leaves_nothing(store, monkeypatch):
    key = put(store, DATA)
    calls = []

    def flaky(src, dst, *a, **kw):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error")
        return real(src, dst, *a, **kw)

    real = os.symlink
    monkeypatch.setattr(links.os, "symlink", flaky)
    with pytest.raises(OSError):
        store.checkouts.create("deep/job", [FileSpec(key.sha, key.size, "a"), FileSpec(key.sha, key.size, "b")])
    assert not store.layout.checkouts.exists() or list(store.layout.checkouts.iterdir()) == []


def test_missing_files_are_named(store):
    with pytest.raises(shaman.MissingFiles, match="'tex.png'"):
        store.checkouts.create("job", [FileSpec("c" * 64, 5, "tex.png")])
    assert not store.layout.checkout_dir("job").exists()


def test_checkout_does_not_follow_a_planted_symlink(store, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    store.layout.checkouts.mkdir(parents=True)
    (store.layout.checkouts / "evil").symlink_to(outside)
    key = put(store, DATA)
    with pytest.raises(shaman.SpecError, match="outside"):
        store.checkouts.create("evil/job", [FileSpec(key.sha, key.size, "a.png")])
    assert list(outside.iterdir()) == []


def test_remove_checkout(tmp_path):
    config = Config(shared_storage_path=str(tmp_path))
    store = shaman.for_config(config)
    key = put(store, DATA)
    store.checkouts.create("proj/job-1", [FileSpec(key.sha, key.size, "a/b.png")])
    assert shaman.remove_checkout(config, "proj/job-1") is True
    assert not (tmp_path / "jobs" / "proj").exists()  # its empty parent went too
    assert store.layout.blob_path(key).exists()  # blobs wait for the garbage collector
    assert shaman.remove_checkout(config, "proj/job-1") is False
    assert shaman.remove_checkout(config, "") is False
    with pytest.raises(shaman.SpecError):
        shaman.remove_checkout(config, "../file-store")
    assert store.layout.blob_path(key).exists()


def test_gc_keeps_used_and_recent_files(store, monkeypatch):
    used, hard, unused, recent = (put(store, DATA + bytes([i])) for i in range(4))
    store.checkouts.create("job-sym", [FileSpec(used.sha, used.size, "used.png")])
    monkeypatch.setattr(links.os, "symlink", lambda *a: (_ for _ in ()).throw(PermissionError(errno.EPERM, "no")))
    store.checkouts.linker = links.Linker()
    store.checkouts.create("job-hard", [FileSpec(hard.sha, hard.size, "hard.png")])
    old = time.time() - 100 * 24 * 3600
    for key in (used, hard, unused):
        os.utime(store.layout.blob_path(key), (old, old))

    dry = sweep(store.layout, timedelta(days=31), delete=False)
    assert dry.deleted == [store.layout.blob_path(unused)] and dry.in_use == 2 and dry.links_checked == 1
    assert store.layout.blob_path(unused).exists()

    report = sweep(store.layout, timedelta(days=31), delete=True)
    assert report.deleted == [store.layout.blob_path(unused)] and report.bytes_freed == unused.size
    assert not store.layout.blob_dir(unused).exists()  # empty folders go too
    for key in (used, hard, recent):
        assert store.layout.blob_path(key).exists()
    assert "deleted 1 files" in report.summary()

    # Once the job (and its checkout) is gone, the old file goes as well.
    shaman.remove_checkout(Config(shared_storage_path=str(store.layout.root)), "job-sym")
    assert sweep(store.layout, timedelta(days=31), delete=True).deleted == [store.layout.blob_path(used)]


def test_gc_through_a_symlinked_storage_path(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    store = shaman.Shaman(shaman.Layout.for_shared_storage(str(tmp_path / "alias")))
    key = put(store, DATA)
    store.checkouts.create("job", [FileSpec(key.sha, key.size, "a.png")])
    old = time.time() - 100 * 24 * 3600
    os.utime(store.layout.blob_path(key), (old, old))
    assert sweep(store.layout, timedelta(days=1), delete=True).deleted == []
