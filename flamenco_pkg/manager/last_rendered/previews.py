"""Last-rendered images: the preview thumbnails a job shows in the web UI.

Workers post the frame they rendered last; the route only queues it (a small
queue, so a chatty Worker gets 429 instead of filling the Manager's memory)
and the `loops/last_rendered.py` greenlet turns each one into three JPEGs in
the job's storage folder, marks the job as the farm's last-rendered one and
announces it. Names, sizes and quality are upstream Flamenco's, because the
web UI and `/job-files/` URLs depend on them.

Decoding and scaling run in a native thread (Pillow releases the GIL), so a
big PNG does not stall the Manager's other greenlets; that thread only touches
Pillow and files, never the database, logging or gevent objects.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent.queue
from PIL import Image, UnidentifiedImageError

from .. import events
from ..disk_full import is_disk_full
from ..local_storage import paths as storage
from ..db import last_rendered as last_rendered_db

log = logging.getLogger("flamenco.lastrendered")

MAX_IMAGE_BYTES = 25 * 1024 * 1024
JPEG_QUALITY = 85
ACCEPTED_FORMATS = ("JPEG", "PNG")
# (file name, width, height): each is fitted from the one before, shrinking only.
THUMBNAILS: tuple[tuple[str, int, int], ...] = (
    ("last-rendered.jpg", 1920, 1080),
    ("last-rendered-small.jpg", 600, 338),
    ("last-rendered-tiny.jpg", 200, 112),
)
# Written last, so its presence means all three are there (upstream's test too).
MARKER = THUMBNAILS[-1][0]


class ImageRejected(ValueError):
    """The uploaded bytes are not a JPEG or PNG image Pillow can decode."""


@dataclass(frozen=True)
class Upload:
    """One image waiting in the queue."""

    job_uuid: str
    task_uuid: str
    worker_name: str
    data: bytes


def image_queue(manager: Any) -> gevent.queue.Queue:
    """The Manager's queue of uploads waiting for the thumbnail loop."""
    return manager.last_rendered_queue


def offer(manager: Any, upload: Upload) -> bool:
    """Queue an upload; False when the queue is full (the Worker gets 429)."""
    try:
        image_queue(manager).put_nowait(upload)
    except gevent.queue.Full:
        return False
    return True


# ---------------------------------------------------------------------------
# Where thumbnails live and how clients find them.


def job_files_base(job_uuid: str) -> str:
    """URL of the job's storage folder, as served by `/job-files/`."""
    return "/job-files/" + storage.job_dir_rel(job_uuid)


def thumbnail_info(job_uuid: str) -> dict[str, Any]:
    """JobLastRenderedImageInfo / the `thumbnail` of a last-rendered event."""
    return {"base": job_files_base(job_uuid), "suffixes": [name for name, _w, _h in THUMBNAILS]}


def job_dir(root: Path, job_uuid: str) -> Path:
    return storage.inside(root, storage.job_dir_rel(job_uuid))


def has_thumbnails(root: Path, job_uuid: str) -> bool:
    try:
        return (job_dir(root, job_uuid) / MARKER).is_file()
    except storage.UnsafePath:
        return False


# ---------------------------------------------------------------------------
# Image work (runs in a native thread: Pillow and files only).


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        if image.format == "JPEG":
            # Let the JPEG decoder scale down by up to 8x while decoding: much less work.
            image.draft("RGB", THUMBNAILS[0][1:])
        image.load()
    except UnidentifiedImageError as exc:
        raise ImageRejected("not a JPEG or PNG image") from exc
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"image too large to decode safely: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"damaged image: {exc}") from exc
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """JPEG needs 8-bit RGB: 16-bit grey is scaled down, transparency goes over black."""
    if image.mode.startswith("I"):
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _save_jpeg(image: Image.Image, path: Path) -> None:
    """Write via a temporary name, so `/job-files/` never serves half a file."""
    temp = path.with_name(path.name + ".part")
    try:
        image.save(temp, "JPEG", quality=JPEG_QUALITY)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def make_thumbnails(data: bytes, folder: Path) -> list[tuple[int, int]]:
    """Write the three thumbnails of `data` into `folder`; returns their sizes.

    Each is fitted into its box from the previous one, keeping the aspect
    ratio and never enlarging. Raises ImageRejected for unusable bytes.
    """
    image = _to_rgb(_decode(data))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = []
    for name, width, height in THUMBNAILS:
        image.thumbnail((width, height))
        _save_jpeg(image, folder / name)
        sizes.append(image.size)
    return sizes


def remove_thumbnails(folder: Path) -> None:
    """Undo make_thumbnails for a job deleted meanwhile, with its now-empty folders."""
    for name, _w, _h in THUMBNAILS:
        (folder / name).unlink(missing_ok=True)
    for empty in (folder, folder.parent):
        try:
            empty.rmdir()
        except OSError:
            break


# ---------------------------------------------------------------------------
# One queued upload, start to finish (runs in the loop's greenlet).

Runner = Callable[..., Any]


def _direct(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def process(manager: Any, upload: Upload, run: Runner = _direct) -> bool:
    """Make the thumbnails of one upload, mark its job, announce it; True when done.

    `run(fn, *args)` executes the image work; the loop passes a thread pool.
    A job deleted while its image waited is skipped, and its files removed.
    """
    with manager.db.tx() as conn:
        exists = last_rendered_db.job_id_for_uuid(conn, upload.job_uuid) is not None
    if not exists:
        log.info("image from worker %s dropped: job %s no longer exists", upload.worker_name, upload.job_uuid)
        return False
    folder = job_dir(manager.task_logs.root, upload.job_uuid)
    try:
        sizes = run(make_thumbnails, upload.data, folder)
    except ImageRejected as exc:
        log.warning("image from worker %s for task %s cannot be used: %s",
                    upload.worker_name, upload.task_uuid, exc)
        return False
    except OSError as exc:
        if is_disk_full(exc):
            manager.disk.full(folder, "last-rendered images")  # warns once
        else:
            log.error("cannot write the thumbnails of job %s in %s: %s", upload.job_uuid, folder, exc)
        return False
    with manager.change() as (conn, changes):
        job_id = last_rendered_db.job_id_for_uuid(conn, upload.job_uuid)
        if job_id is not None:
            last_rendered_db.set_job(conn, job_id)
            events.last_rendered(changes, upload.job_uuid, thumbnail_info(upload.job_uuid))
    if job_id is None:  # deleted while the thumbnails were being made
        remove_thumbnails(folder)
        return False
    log.debug("last-rendered image of job %s from worker %s: %dx%d", upload.job_uuid,
              upload.worker_name, *sizes[0])
    return True
