"""Last-rendered images (upload and lookup) and `/job-files/`, the read-only view of local storage.

`/job-files/<path>` serves task logs and thumbnails from the Manager's local
storage folder: the path must pass `path_rules.checked_relative` (400
otherwise) and, with symlinks resolved, still be inside that folder (403).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import bottle

from .. import last_rendered, storage
from ..context import Manager
from ..db import last_rendered as last_rendered_db
from ..db import tasks as task_db
from ..path_rules import checked_relative
from .common import ApiError, ApiRequest, NO_CONTENT, Reply, error_response, read_body

log = logging.getLogger("flamenco.http")

def _content_length(headers: Any) -> int | None:
    raw = headers.get("Content-Length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def task_output_produced(m: Manager, r: ApiRequest) -> Reply:
    length = _content_length(r.headers)
    if not length:
        raise ApiError(411, "a Content-Length header is required, and the image may not be empty")
    if length > last_rendered.MAX_IMAGE_BYTES:
        raise ApiError(413, f"image of {length} bytes is too large; the limit is "
                            f"{last_rendered.MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    with m.db.tx() as conn:
        task = task_db.fetch_by_uuid(conn, r.path["task_id"])
    if task is None:
        return Reply(404, "Task does not exist")
    upload = last_rendered.Upload(job_uuid=task["job_uuid"], task_uuid=task["uuid"],
                                  worker_name=r.worker["name"],
                                  data=read_body(r.body, last_rendered.MAX_IMAGE_BYTES))
    if not last_rendered.offer(m, upload):
        raise ApiError(429, "too many images are waiting to be processed; send fewer")
    return Reply(202)


def _info(m: Manager, job_uuid: str) -> dict[str, Any] | Reply:
    if not last_rendered.has_thumbnails(m.task_logs.root, job_uuid):
        return NO_CONTENT
    return last_rendered.thumbnail_info(job_uuid)


def fetch_job_last_rendered_info(m: Manager, r: ApiRequest) -> dict[str, Any] | Reply:
    return _info(m, r.path["job_id"])


def fetch_global_last_rendered_info(m: Manager, r: ApiRequest) -> dict[str, Any] | Reply:
    with m.db.tx() as conn:
        job_uuid = last_rendered_db.job_uuid(conn)
    if job_uuid is None:
        return NO_CONTENT
    return _info(m, job_uuid)


HANDLERS = {
    "taskOutputProduced": task_output_produced,
    "fetchJobLastRenderedInfo": fetch_job_last_rendered_info,
    "fetchGlobalLastRenderedInfo": fetch_global_last_rendered_info,
}


# ---------------------------------------------------------------------------
# /job-files/


def serve_job_file(root: Path, path: str) -> bottle.HTTPResponse:
    """One file from local storage, with Last-Modified / Range support from Bottle."""
    try:
        relative = checked_relative(path)
    except storage.UnsafePath as exc:
        log.warning("refused /job-files/ request for %r: %s", path, exc)
        return error_response(400, f"invalid file path: {exc}")
    try:
        target = storage.inside(root, relative)
    except storage.UnsafePath:
        log.warning("refused /job-files/ request for %r: it leads outside the storage folder", path)
        return error_response(403, "this path leads outside the Manager's storage folder")
    if not target.is_file():
        return error_response(404, "no such file")
    resp = bottle.static_file(target.name, root=str(target.parent))
    resp.set_header("Cache-Control", "no-cache")  # thumbnails are replaced in place
    return resp


def mount(app: bottle.Bottle, manager: Manager) -> None:
    root = manager.task_logs.root

    @app.route("/job-files/<path:path>", method=["GET", "HEAD"])
    def job_files(path: str) -> bottle.HTTPResponse:
        return serve_job_file(root, path)
