"""Last-rendered previews: the newest frame Blender saved goes to the Manager as a JPEG.

One slot only: a frame saved while another is being sent replaces the one
waiting, so a fast render never builds a backlog and never waits for the
upload. Upload results are logged, never retried, and never fail a task.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

from .client import ManagerClient, Unreachable, error_text
from .slotlog import child_thread_name

log = logging.getLogger("flamenco.worker.uploader")

ACCEPTED_FORMATS = {"PNG", "JPEG", "TIFF"}
MAX_SIZE = (1920, 1080)  # fits any monitor showing the web UI; keeps uploads far below the 25 MiB limit
JPEG_QUALITY = 85


def to_jpeg(path: str, max_size: tuple[int, int] = MAX_SIZE) -> bytes | None:
    """JPEG bytes of a PNG/JPEG/TIFF image, shrunk to fit `max_size`; None for other formats."""
    from PIL import Image

    with Image.open(path) as img:
        if img.format not in ACCEPTED_FORMATS:
            log.info("not sending %s as last-rendered image: %s images are not supported", path, img.format)
            return None
        img.load()
        if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (0, 0, 0))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            img = flat
        elif img.mode != "RGB":
            img = img.convert("RGB")
        img.thumbnail(max_size)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()


class LastRenderedUploader:
    def __init__(self, client: ManagerClient) -> None:
        self.client = client
        self._cond = threading.Condition()
        self._pending: tuple[str, str] | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=child_thread_name("last-rendered"), daemon=True)
        self._thread.start()

    def offer(self, task_id: str, path: str) -> None:
        """Queue this frame, replacing any frame not yet taken; returns at once."""
        with self._cond:
            self._pending = (task_id, path)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                task_id, path = self._pending  # type: ignore[misc]
                self._pending = None
            self._upload(task_id, path)

    def _upload(self, task_id: str, path: str) -> None:
        try:
            body = to_jpeg(path)
        except Exception as exc:  # noqa: BLE001 — a bad image must not stop the uploader
            log.warning("cannot read rendered image %s: %s", Path(path).name, exc)
            return
        if body is None:
            return
        try:
            resp = self.client.call("POST", f"task/{task_id}/output-produced", data=body,
                                    headers={"Content-Type": "image/jpeg"})
        except Unreachable as exc:
            log.info("last-rendered image not sent: %s", exc)
            return
        if resp.status_code == 202:
            log.debug("last-rendered image %s accepted", Path(path).name)
        elif resp.status_code == 429:
            log.info("Manager is busy with earlier images; skipped %s", Path(path).name)
        else:
            log.warning("Manager did not accept last-rendered image %s: %s", Path(path).name, error_text(resp))
