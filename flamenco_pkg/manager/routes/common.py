"""What every API route shares: the request it gets and the errors it raises."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bottle

from ..errors import ManagerError


@dataclass
class Reply:
    """A non-default answer: another status, or a body that is not JSON."""

    status: int
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiRequest:
    path: dict[str, str]
    query: dict[str, Any]
    body: Any
    headers: Any
    remote_addr: str
    worker: Any = None  # the authenticated worker row, for the worker tag
    # watch_hangup(callback) -> stop: calls back when the client hangs up (for held requests)
    watch_hangup: Callable[[Callable[[], None]], Callable[[], None]] = lambda _callback: lambda: None


NO_CONTENT = Reply(204)


def read_body(body: Any, limit: int) -> bytes:
    """The bytes of a binary request body (bytes or a stream), refusing more than `limit`."""
    if isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    else:
        data = body.read(limit + 1)
    if len(data) > limit:
        raise ManagerError(413, f"request body is larger than {limit} bytes")
    return data


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> bottle.HTTPResponse:
    resp = bottle.HTTPResponse(json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                               status=status, headers=headers or {})
    resp.content_type = "application/json"
    return resp


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> bottle.HTTPResponse:
    """Flamenco's error object `{code, message}` as a response, for routes outside the API plumbing."""
    return json_response(status, {"code": status, "message": message}, headers)
