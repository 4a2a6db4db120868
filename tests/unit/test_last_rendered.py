"""Thumbnails with Pillow, the upload queue and the request-path rules (no server)."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from flamenco_pkg.manager.last_rendered import previews as last_rendered
from flamenco_pkg.manager.local_storage.path_rules import PathRefused, checked_relative, refuse_dot_segments

JOB = "0e2f6b6c-6a57-4f8b-9a43-6c3b2f1c9d10"


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def sizes_in(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for name, _w, _h in last_rendered.THUMBNAILS:
        with Image.open(folder / name) as image:
            assert image.format == "JPEG"
            found[name] = image.size
    return found


@pytest.mark.parametrize("size, expected", [
    ((3840, 2160), [(1920, 1080), (600, 338), (199, 112)]),   # 16:9; tiny fitted from small
    ((1000, 4000), [(270, 1080), (84, 338), (28, 112)]),       # portrait: height decides
    ((300, 100), [(300, 100), (300, 100), (200, 67)]),         # small: never enlarged
])
def test_three_thumbnails_fitted_shrink_only(tmp_path, size, expected):
    data = encode(Image.new("RGB", size, (200, 30, 30)))
    assert last_rendered.make_thumbnails(data, tmp_path) == expected
    assert list(sizes_in(tmp_path).values()) == expected
    assert not list(tmp_path.glob("*.part"))


def test_quality_85_and_colours_survive(tmp_path):
    data = encode(Image.new("RGB", (800, 600), (10, 120, 240)), "JPEG")
    last_rendered.make_thumbnails(data, tmp_path)
    with Image.open(tmp_path / "last-rendered.jpg") as image:
        assert image.getpixel((400, 300)) == pytest.approx((10, 120, 240), abs=4)
        # Pillow's quality 85 quantisation table starts with 5 (quality 75 gives 8).
        assert image.quantization[0][0] == 5


def test_alpha_goes_over_black_and_16_bit_grey_is_scaled(tmp_path):
    transparent = Image.new("RGBA", (50, 50), (255, 255, 255, 0))
    last_rendered.make_thumbnails(encode(transparent), tmp_path)
    with Image.open(tmp_path / "last-rendered.jpg") as image:
        assert image.getpixel((25, 25)) == pytest.approx((0, 0, 0), abs=3)

    grey16 = Image.new("I;16", (40, 40), 32768)  # mid grey in 16 bits
    last_rendered.make_thumbnails(encode(grey16), tmp_path)
    with Image.open(tmp_path / "last-rendered.jpg") as image:
        assert image.convert("L").getpixel((20, 20)) == pytest.approx(128, abs=3)


@pytest.mark.parametrize("data", [
    b"",
    b"not an image",
    encode(Image.new("RGB", (10, 10)), "GIF"),
    encode(Image.new("RGB", (10, 10)), "PNG")[:40],  # truncated
])
def test_unusable_bytes_are_rejected_and_nothing_written(tmp_path, data):
    with pytest.raises(last_rendered.ImageRejected):
        last_rendered.make_thumbnails(data, tmp_path / "job")
    assert not (tmp_path / "job").exists()


def test_queue_holds_three():
    from flamenco_pkg.manager.context import Manager

    manager = SimpleNamespace(last_rendered_queue=Manager.__dataclass_fields__["last_rendered_queue"].default_factory())
    upload = last_rendered.Upload(JOB, JOB, "w", b"x")
    assert [last_rendered.offer(manager, upload) for _ in range(4)] == [True, True, True, False]
    assert manager.last_rendered_queue.qsize() == 3


def test_thumbnail_info_and_presence(tmp_path):
    info = last_rendered.thumbnail_info(JOB)
    assert info == {"base": f"/job-files/job-0e2f/{JOB}",
                    "suffixes": ["last-rendered.jpg", "last-rendered-small.jpg", "last-rendered-tiny.jpg"]}
    assert not last_rendered.has_thumbnails(tmp_path, JOB)
    assert not last_rendered.has_thumbnails(tmp_path, "../../etc")
    last_rendered.make_thumbnails(encode(Image.new("RGB", (10, 10))), last_rendered.job_dir(tmp_path, JOB))
    assert last_rendered.has_thumbnails(tmp_path, JOB)


@pytest.mark.parametrize("path", [
    "", "/etc/passwd", "C:/x", "c:x", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\b", "%2e%2e/x",
    "a/%2fb", "a\x00b",
])
def test_checked_relative_refuses(path):
    with pytest.raises(PathRefused):
        checked_relative(path)


def test_checked_relative_accepts_plain_paths():
    assert checked_relative(f"job-0e2f/{JOB}/last-rendered.jpg") == f"job-0e2f/{JOB}/last-rendered.jpg"
    assert checked_relative("jobless/x.txt.1") == "jobless/x.txt.1"


@pytest.mark.parametrize("path", [
    "/srv/../etc", "..", "C:\\farm\\..\\x", "/srv/%2e%2e/etc", "/srv/%2E%2E%2Fetc", "/srv/%252e%252e/x",
    "/srv/x\x00",
])
def test_machine_paths_may_not_climb(path):
    with pytest.raises(PathRefused):
        refuse_dot_segments(path)


def test_machine_paths_with_dots_in_names_are_fine():
    for path in ("/srv/flamenco", "/srv/..hidden/x", "/srv/a..b", "D:\\render farm\\shots", "blender"):
        assert refuse_dot_segments(path) == path
