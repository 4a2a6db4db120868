"""Wires the API routes, request validation and worker auth into one Bottle app.

Routes come from the project's OpenAPI spec: every operation with a handler
is mounted at its path, its request is validated against the spec before the
handler runs, and worker-tag operations require HTTP Basic auth. Every
error, whatever produces it (validation, auth, a handler, Bottle's router,
an unexpected exception), answers Flamenco's error object `{code, message}`.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import bottle
import gevent
import gevent.socket

from flamenco_pkg.api import spec as api_spec
from flamenco_pkg.api.validation import RequestInvalid, RequestValidator

from .auth import audit
from .auth.permissions import OPERATIONS, Permission, rule_for_path
from .context import Manager
from .routes import ROUTE_MODULES
from .disk_full import DiskFull
from .errors import ManagerError
from .http_peer import client_address
from .routes.common import ApiRequest, Reply, error_response, json_response

log = logging.getLogger("flamenco.http")

Handler = Callable[[Manager, ApiRequest], Any]
INTERNAL_ERROR = "internal error in the Manager; see its log for details"



def all_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for module in ROUTE_MODULES:
        for op_id, handler in getattr(module, "HANDLERS", {}).items():
            if op_id in handlers:
                raise RuntimeError(f"two handlers for {op_id}")
            handlers[op_id] = handler
    return handlers


def _render(result: Any) -> bottle.HTTPResponse:
    if isinstance(result, Reply):
        if result.status == 204 or result.body is None:
            return bottle.HTTPResponse(status=result.status, headers=result.headers)
        if result.content_type == "application/json":
            return json_response(result.status, result.body, result.headers)
        resp = bottle.HTTPResponse(result.body, status=result.status, headers=result.headers)
        resp.content_type = result.content_type
        return resp
    if result is None:
        return bottle.HTTPResponse(status=204)
    return json_response(200, result)


def _endpoint(manager: Manager, validator: RequestValidator, op: api_spec.Operation,
              handler: Handler) -> Callable[..., bottle.HTTPResponse]:
    rule = OPERATIONS.get(op.operation_id)
    audited_op = rule is not None and rule.audited

    def endpoint(**path: str) -> bottle.HTTPResponse:
        began = time.perf_counter()
        try:
            resp = answer(**path)
        except DiskFull as exc:  # met outside the handler (e.g. while authenticating): a 507 too, not a 500
            return error_response(exc.status, exc.message)
        manager.metrics.observe_request(op.operation_id, resp.status_code, time.perf_counter() - began)
        return resp

    def answer(**path: str) -> bottle.HTTPResponse:
        # A plain request over the same environ: each attribute of `bottle.request` is a greenlet-local look-up.
        req = bottle.BaseRequest(bottle.request.environ)
        environ = req.environ
        worker_row = None
        user = None
        if op.secured:  # before the body is read: strangers do not get 64 MiB parsed
            worker_row = manager.worker_auth.authenticate(manager, environ.get("HTTP_AUTHORIZATION", ""))
            if worker_row is None:
                return error_response(403, "worker authentication failed")
        elif manager.config.auth.enabled:  # users (issue 14), also before the body is read
            try:
                user = manager.auth.check_operation(manager, op.operation_id, environ)
            except ManagerError as exc:
                return error_response(exc.status, exc.message, exc.headers)
        try:
            body = _request_body(req)
            valid = validator.validate(
                op.operation_id, path=path, query=dict(req.query.items()) if environ.get("QUERY_STRING") else {},
                headers=req.headers,
                content_type=req.content_type or None, body=body,
            )
        except ManagerError as exc:
            return error_response(exc.status, exc.message)
        except RequestInvalid as exc:
            return error_response(400, exc.message)
        api_req = ApiRequest(path=valid.path, query=valid.query, body=valid.body, headers=req.headers,
                             remote_addr=client_address(environ, manager.config.trusted_proxies),
                             worker=worker_row, watch_hangup=_hangup_watch(environ), user=user,
                             environ=environ)
        audited = audited_op and user is not None and user.is_user
        if audited:
            audit.begin(user.username, op.operation_id, valid.path, valid.body)
        try:
            result = handler(manager, api_req)
        except ManagerError as exc:
            if audited:
                audit.discard()
            return error_response(exc.status, exc.message, exc.headers)
        except BaseException:
            if audited:
                audit.discard()
            raise
        if audited:
            audit.finish(manager.db, result)
        return _render(result)

    endpoint.__name__ = op.operation_id
    endpoint.checks_user = True  # type: ignore[attr-defined]  # _UserCheck leaves it alone
    return endpoint


MAX_JSON_BODY = 64 * 1024 * 1024


def _request_body(req: bottle.BaseRequest) -> Any:
    """JSON bodies as bytes; binary ones (images, Shaman uploads) as the unread stream.

    Reads `wsgi.input` directly: the server has already undone any chunked
    transfer encoding, which Bottle's own body parsing would try again.
    """
    stream = req.environ["wsgi.input"]
    chunked = "chunked" in req.environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    length = req.content_length
    if length <= 0 and not chunked:
        return b""
    if "json" in (req.content_type or "").lower():
        if length > MAX_JSON_BODY:
            raise ManagerError(413, f"request body is larger than {MAX_JSON_BODY} bytes")
        data = stream.read(MAX_JSON_BODY + 1) if chunked else stream.read(length)
        if len(data) > MAX_JSON_BODY:
            raise ManagerError(413, f"request body is larger than {MAX_JSON_BODY} bytes")
        return data
    return stream


def _hangup_watch(environ: dict) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """`watch(callback)`: call `callback` once the client closes its connection
    while its request is held; returns a function that stops watching."""
    sock = environ.get("flamenco.client_socket")

    def watch(callback: Callable[[], None]) -> Callable[[], None]:
        if sock is None:
            return lambda: None

        def run() -> None:
            try:
                gevent.socket.wait_read(sock.fileno())
                if sock.recv(1, socket.MSG_PEEK) != b"":
                    return  # the client sent more (a pipelined request), it did not hang up
            except OSError:
                pass
            callback()

        watcher = gevent.spawn(run)
        return lambda: watcher.kill(block=True)

    return watch


def _error_object(err: bottle.HTTPError) -> str:
    """Bottle's own errors (unknown route, wrong method, static files) as Flamenco's error object."""
    bottle.response.content_type = "application/json"
    message = err.body if isinstance(err.body, str) and err.body else bottle.HTTP_CODES.get(err.status_code, "error")
    if err.status_code >= 500:
        message = INTERNAL_ERROR
    return json.dumps({"code": err.status_code, "message": message}, separators=(",", ":"))


def _no_traceback(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Plugin for every route: an unexpected exception is logged and answered with a 500 error object."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except bottle.HTTPResponse:
            raise
        except Exception:  # noqa: BLE001 — never a traceback to the client
            log.exception("%s %s failed", bottle.request.method, bottle.request.path)
            return error_response(500, INTERNAL_ERROR)
    return wrapper


class _UserCheck:
    """Bottle plugin: the user check for routes that are not `_endpoint`s: API operations a module
    mounts itself (Shaman uploads stream their body), and `OTHER_ROUTES` of auth/permissions.py."""

    name = "flamenco-user-check"
    api = 2

    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.operations = {(op.method, op.bottle_path): op.operation_id for op in api_spec.route_table()}

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        if getattr(callback, "checks_user", False):
            return callback
        op = self.operations.get((route.method, route.rule))
        permission = OPERATIONS[op].permission if op in OPERATIONS else rule_for_path(route.rule)
        if permission is Permission.PUBLIC or permission is Permission.WORKER_SECRET:
            return callback  # Worker operations are mounted as endpoints; 405 routes are for anyone
        manager = self.manager

        def checked(*args: Any, **kwargs: Any) -> Any:
            if manager.config.auth.enabled:
                try:
                    manager.auth.check(manager, permission, bottle.request.environ)
                except ManagerError as exc:
                    return error_response(exc.status, exc.message, exc.headers)
            return callback(*args, **kwargs)

        return checked


def install_error_objects(app: bottle.Bottle) -> None:
    """Every route of `app`, and Bottle itself, answer errors with Flamenco's error object."""
    app.default_error_handler = _error_object
    app.install(_no_traceback)


# Methods answered with 405 on every API path that does not declare them.
_REFUSED_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE")


def _refuse_other_methods(app: bottle.Bottle) -> None:
    """405 with the path's own `Allow` for undeclared methods on every API path.

    Without these routes Bottle would hand `GET /api/v3/jobs/check` to
    `GET /api/v3/jobs/{job_id}` (a 400 for the ID) and list a sibling path's
    methods in `Allow`. Routes for a literal path win over parameter paths.
    """
    declared: dict[str, set[str]] = {}
    for op in api_spec.route_table():
        declared.setdefault(op.bottle_path, set()).add(op.method)
    for path, methods in declared.items():
        allow = ", ".join(sorted(methods))

        def not_allowed(allow: str = allow, **_path: str) -> bottle.HTTPResponse:
            return error_response(405, f"{bottle.request.method} is not allowed here; use {allow}", {"Allow": allow})

        for method in _REFUSED_METHODS:
            if method not in methods:
                app.route(path, method=method, callback=not_allowed)


def build_app(manager: Manager) -> bottle.Bottle:
    app = bottle.Bottle(catchall=False)
    validator = RequestValidator(api_spec.load_spec())
    handlers = all_handlers()
    for op in api_spec.route_table():
        handler = handlers.get(op.operation_id)
        if handler is None:
            continue
        app.route(op.bottle_path, method=op.method,
                  callback=_endpoint(manager, validator, op, handler))
    _refuse_other_methods(app)

    for module in ROUTE_MODULES:
        if hasattr(module, "mount"):
            module.mount(app, manager)

    @app.get("/api/v3/openapi3.json")
    def openapi_json() -> bottle.HTTPResponse:
        resp = bottle.HTTPResponse(api_spec.spec_json())
        resp.content_type = "application/json"
        return resp

    app.install(_UserCheck(manager))
    install_error_objects(app)
    return app
