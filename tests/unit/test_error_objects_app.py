"""The Manager's Bottle app answers every error, including an unexpected exception, as `{code, message}`."""

from __future__ import annotations

import io
import json
import logging
from wsgiref.util import setup_testing_defaults

import bottle
import pytest

from flamenco_pkg.manager.app import INTERNAL_ERROR, install_error_objects


def call(app: bottle.Bottle, method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(b"")}
    setup_testing_defaults(environ)
    answer: dict = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.fixture
def app() -> bottle.Bottle:
    app = bottle.Bottle()
    app.config["catchall"] = False  # as in build_app: only our plugin catches

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail that must not reach the client")

    @app.get("/teapot")
    def teapot() -> str:
        return bottle.HTTPError(418, "I'm a teapot")

    @app.get("/only-get")
    def only_get() -> str:
        return "fine"

    install_error_objects(app)
    return app


def test_unexpected_exception_is_a_logged_500_error_object(app, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="flamenco.http"):
        status, headers, body = call(app, "GET", "/boom")
    assert status.startswith("500")
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"code": 500, "message": INTERNAL_ERROR}
    assert "secret detail" in caplog.text and "GET /boom failed" in caplog.text


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nowhere", 404), ("POST", "/only-get", 405), ("GET", "/teapot", 418)])
def test_bottle_errors_are_error_objects(app, method: str, path: str, status: int) -> None:
    code, headers, body = call(app, method, path)
    assert code.startswith(str(status))
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["code"] == status and answer["message"], answer
    if status == 405:
        assert headers["Allow"] == "GET"
