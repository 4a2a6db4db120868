"""Last-rendered images: a Worker's upload (`output-produced`) and their lookup."""

from __future__ import annotations

from typing import Any

from ..context import Manager
from ..db import last_rendered as last_rendered_db
from ..db import tasks as task_db
from ..last_rendered import previews as last_rendered
from .common import NO_CONTENT, ApiRequest, ManagerError, Reply, read_body


def _content_length(headers: Any) -> int | None:
    raw = headers.get("Content-Length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def task_output_produced(m: Manager, r: ApiRequest) -> Reply:
    length = _content_length(r.headers)
    if not length:
        raise ManagerError(411, "a Content-Length header is required, and the image may not be empty")
    if length > last_rendered.MAX_IMAGE_BYTES:
        raise ManagerError(413, f"image of {length} bytes is too large; the limit is "
                            f"{last_rendered.MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    with m.db.tx() as conn:
        task = task_db.fetch_by_uuid(conn, r.path["task_id"])
    if task is None:
        return Reply(404, "Task does not exist")
    upload = last_rendered.Upload(job_uuid=task["job_uuid"], task_uuid=task["uuid"],
                                  worker_name=r.worker["name"],
                                  data=read_body(r.body, last_rendered.MAX_IMAGE_BYTES))
    if not last_rendered.offer(m, upload):
        raise ManagerError(429, "too many images are waiting to be processed; send fewer")
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
