"""`/job-files/`, the read-only view of the Manager's local storage.

`/job-files/<path>` serves task logs and thumbnails from the Manager's local
storage folder: the path must pass `path_rules.checked_relative` (400
otherwise) and, with symlinks resolved, still be inside that folder (403).
"""

from __future__ import annotations

import logging
from pathlib import Path

import bottle

from ..context import Manager
from ..local_storage import paths as storage
from ..local_storage.path_rules import checked_relative
from .common import error_response

log = logging.getLogger("flamenco.http")


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
        manager.task_logs.flush()  # a task log holds every line queued before this download
        return serve_job_file(root, path)
