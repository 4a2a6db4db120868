"""Last-rendered uploads: JPEG conversion and the one-slot queue that never blocks a render."""

from __future__ import annotations

import io
import threading

from PIL import Image

from flamenco_pkg.worker.uploader import LastRenderedUploader, to_jpeg
from tests.integration.farm import wait_until


def test_png_with_alpha_becomes_an_rgb_jpeg(tmp_path):
    path = tmp_path / "0001.png"
    Image.new("RGBA", (64, 36), (255, 0, 0, 0)).save(path)
    data = to_jpeg(str(path))
    assert data[:3] == b"\xff\xd8\xff"
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.mode == "RGB" and img.size == (64, 36)
    assert max(img.getpixel((10, 10))) < 20  # transparent pixels land on black


def test_big_frames_are_shrunk_and_other_formats_skipped(tmp_path):
    big = tmp_path / "big.tif"
    Image.new("RGB", (3840, 2160), (0, 128, 0)).save(big)
    assert Image.open(io.BytesIO(to_jpeg(str(big)))).size == (1920, 1080)
    gif = tmp_path / "frame.gif"
    Image.new("P", (8, 8)).save(gif)
    assert to_jpeg(str(gif)) is None


class SlowManager:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.received: list[tuple[str, bytes, str]] = []

    def call(self, method, path, *, data=None, headers=None, **_kw):
        self.release.wait(10)
        self.received.append((path, data, headers["Content-Type"]))

        class Resp:
            status_code = 202
        return Resp()


def test_newest_frame_replaces_a_waiting_one(tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / f"{i:04d}.png"
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(path)
        paths.append(str(path))
    manager = SlowManager()
    uploader = LastRenderedUploader(manager)
    try:
        uploader.offer("t1", paths[0])  # taken at once, its upload hangs
        wait_until(lambda: uploader._pending is None, deadline_s=5, what="the first frame to be taken")
        for path in paths[1:]:
            uploader.offer("t1", path)  # each replaces the one before; none blocks
        manager.release.set()
        wait_until(lambda: len(manager.received) == 2, deadline_s=5, what="two uploads")
        assert [p for p, _d, _t in manager.received] == ["task/t1/output-produced"] * 2
        assert all(t == "image/jpeg" for _p, _d, t in manager.received)
        last = Image.open(io.BytesIO(manager.received[1][1]))
        assert last.getpixel((4, 4))[0] > 150  # the newest frame (red 180), not frame 1 or 2
    finally:
        uploader.stop()
