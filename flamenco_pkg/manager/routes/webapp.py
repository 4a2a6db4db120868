"""Serves the built web UI at /app/ and Swagger UI at /api/v3/swagger-ui/.

Both come from `flamenco_pkg/webapp_dist/` (built by `make webapp`, shipped as
package data), read through importlib.resources so the same code works from
the source tree and from the zipapp. The web UI is a single-page app: any
path under /app/ that is not a file gets index.html, and the app's router
shows the right view. A request path never leaves the dist folder: each part
is checked before it is looked up, so `..`, absolute paths and hidden files
are a 404.
"""

from __future__ import annotations

import logging
import mimetypes
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import bottle

from ..context import Manager
from .common import error_response

log = logging.getLogger("flamenco.webapp")

DIST_PACKAGE = "flamenco_pkg"
DIST_FOLDER = "webapp_dist"
SWAGGER_FOLDER = "swagger-ui"
# Built files carry a content hash in their name, so browsers may keep them.
IMMUTABLE_PREFIX = "assets/"

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("image/svg+xml", ".svg")


def dist_root() -> Traversable:
    return resources.files(DIST_PACKAGE).joinpath(DIST_FOLDER)


def safe_parts(path: str) -> list[str] | None:
    """The parts of a URL path below the dist root, or None if it could escape it."""
    parts = [p for p in path.split("/") if p != ""]
    for part in parts:
        if part in (".", "..") or part.startswith(".") or "\\" in part or "\x00" in part or ":" in part:
            return None
    return parts


def find_file(root: Traversable, parts: list[str]) -> Traversable | None:
    node = root
    for part in parts:
        node = node.joinpath(part)
    try:
        return node if node.is_file() else None
    except OSError:
        return None


def file_response(node: Traversable, name: str, *, cache: str) -> bottle.HTTPResponse:
    """A file from the dist folder; real files go through Bottle (ranges, If-Modified-Since)."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "image/svg+xml"):
        content_type += "; charset=UTF-8"
    if isinstance(node, Path):
        resp = bottle.static_file(node.name, root=str(node.parent), mimetype=content_type)
    else:
        resp = bottle.HTTPResponse(node.read_bytes())
        resp.content_type = content_type
    resp.set_header("Cache-Control", cache)
    resp.set_header("X-Content-Type-Options", "nosniff")
    return resp


def not_found() -> bottle.HTTPResponse:
    return error_response(404, "Not Found")


def serve_app(path: str) -> bottle.HTTPResponse:
    root = dist_root()
    parts = safe_parts(path)
    if parts is None:
        return not_found()
    if parts and parts[0] == SWAGGER_FOLDER:
        return not_found()  # it has its own URL
    node = find_file(root, parts) if parts else None
    if node is not None:
        immutable = path.startswith(IMMUTABLE_PREFIX)
        return file_response(node, parts[-1], cache="public, max-age=31536000, immutable" if immutable else "no-cache")
    if parts and (parts[0] == "assets" or "." in parts[-1]):
        return not_found()  # a missing file, not a route of the app
    index = find_file(root, ["index.html"])
    if index is None:
        log.error("the web UI is not built into this Manager (no %s/index.html); run `make webapp`", DIST_FOLDER)
        return error_response(404, "The web UI is not built into this Manager; run `make webapp`.")
    return file_response(index, "index.html", cache="no-cache")


def serve_swagger(path: str) -> bottle.HTTPResponse:
    parts = safe_parts(path)
    if parts is None:
        return not_found()
    node = find_file(dist_root(), [SWAGGER_FOLDER, *(parts or ["index.html"])])
    if node is None:
        return not_found()
    return file_response(node, (parts or ["index.html"])[-1], cache="no-cache")


def mount(app: bottle.Bottle, manager: Manager) -> None:
    def to_app() -> bottle.HTTPResponse:
        return bottle.HTTPResponse(status=307, headers={"Location": "/app/"})

    app.route("/", "GET", to_app)
    app.route("/app", "GET", to_app)
    app.route("/app/", "GET", lambda: serve_app(""))
    app.route("/app/<path:path>", "GET", serve_app)
    app.route("/api/v3/swagger-ui", "GET",
              lambda: bottle.HTTPResponse(status=307, headers={"Location": "/api/v3/swagger-ui/"}))
    app.route("/api/v3/swagger-ui/", "GET", lambda: serve_swagger(""))
    app.route("/api/v3/swagger-ui/<path:path>", "GET", serve_swagger)
