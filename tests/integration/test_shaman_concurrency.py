"""Two clients uploading the same file at the same time, over real HTTP.

Each upload body is a generator that pauses half-way until the test lets it
go on, so the order of events on the Manager is fixed without sleeping.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.integration.farm import wait_until
from tests.integration.shaman_client import blob_path, sha, temp_files, upload

DATA = os.urandom(3 * 1024 * 1024 + 17)
HALF = len(DATA) // 2


class PausedBody:
    """A chunked request body that sends `first`, waits for `go`, then sends `rest`."""

    def __init__(self, first: bytes, rest: bytes) -> None:
        self.first, self.rest = first, rest
        self.go = threading.Event()

    def __iter__(self):
        yield self.first
        assert self.go.wait(timeout=30), "the test never released this upload"
        for start in range(0, len(self.rest), 64 * 1024):
            yield self.rest[start:start + 64 * 1024]


def start_upload(pool: ThreadPoolExecutor, api, body, *, checksum: str = sha(DATA), defer: bool = False):
    return pool.submit(upload, api, body, checksum=checksum, size=len(DATA), defer=defer)


def test_second_upload_stops_once_the_first_is_stored(manager, api):
    checksum = sha(DATA)
    first, second = PausedBody(DATA[:HALF], DATA[HALF:]), PausedBody(DATA[:HALF], DATA[HALF:])
    with ThreadPoolExecutor(max_workers=3) as pool:
        a = start_upload(pool, api, first)
        wait_until(lambda: len(temp_files(manager)) == 1, what="the first upload to start")
        status = api.get(f"/api/v3/shaman/files/{checksum}/{len(DATA)}").json()
        assert status == {"status": "uploading"}
        # A client that can defer is asked to come back later.
        assert upload(api, DATA, checksum=checksum, size=len(DATA), defer=True).status_code == 425
        b = start_upload(pool, api, second)
        wait_until(lambda: len(temp_files(manager)) == 2, what="the second upload to start")

        first.go.set()
        assert a.result(timeout=30).status_code == 200
        assert blob_path(manager, DATA).read_bytes() == DATA
        second.go.set()
        # The second learns the file is stored instead of storing it again.
        assert b.result(timeout=30).status_code == 208
    assert blob_path(manager, DATA).read_bytes() == DATA
    assert temp_files(manager) == []


def test_a_failed_upload_does_not_stop_its_twin(manager, api):
    broken, good = PausedBody(DATA[:HALF], b"x" * (len(DATA) - HALF)), PausedBody(DATA[:HALF], DATA[HALF:])
    with ThreadPoolExecutor(max_workers=2) as pool:
        a = start_upload(pool, api, broken)
        wait_until(lambda: len(temp_files(manager)) == 1, what="the first upload to start")
        b = start_upload(pool, api, good)
        wait_until(lambda: len(temp_files(manager)) == 2, what="the second upload to start")
        broken.go.set()
        assert a.result(timeout=30).status_code == 417
        assert not blob_path(manager, DATA).exists()
        good.go.set()
        # Told "stored" only because it really is: this upload stored it itself.
        assert b.result(timeout=30).status_code == 200
    assert blob_path(manager, DATA).read_bytes() == DATA
    assert temp_files(manager) == []


def test_simultaneous_uploads_end_with_one_correct_file(manager, api):
    barrier = threading.Barrier(4)

    def body():
        barrier.wait(timeout=30)
        yield from (DATA[i:i + 256 * 1024] for i in range(0, len(DATA), 256 * 1024))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [start_upload(pool, api, body()) for _ in range(4)]
        codes = sorted(r.result(timeout=60).status_code for r in results)
    assert set(codes) <= {200, 208} and 200 in codes
    assert blob_path(manager, DATA).read_bytes() == DATA
    stored = list((manager.workdir / "shared" / "file-store" / "stored").rglob("*"))
    assert [p for p in stored if p.is_file()] == [blob_path(manager, DATA)]
    assert temp_files(manager) == []
