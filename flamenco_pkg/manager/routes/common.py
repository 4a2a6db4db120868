"""What every API route shares: the request it gets and the errors it raises."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
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
    user: Any = None  # auth.Principal with auth.enabled (None on public operations); auth.AUTH_OFF without
    environ: dict[str, Any] = field(default_factory=dict)  # the WSGI environ (cookies, the scheme)


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


# One encoder for every body: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode_json(body: Any) -> bytes:
    """A JSON body as sent; pure, so big lists can be encoded in a read thread (see `Database.read`)."""
    return _ENCODER.encode(body).encode("utf-8")


def encode_json_list(key: str, items: Iterable[Any], convert: Callable[[Any], Any], batch: int = 500) -> bytes:
    """`encode_json({key: [convert(item) for item in items]})`, built a batch at a time.

    For big lists in read threads: json's C encoder keeps the GIL for as long
    as one call runs, so one call over 100,000 rows would hold up the event
    loop for a second; between batches it gets its turn. Only one batch of
    rows and dicts is alive at a time, which keeps garbage collection short.
    """
    parts: list[bytes] = [b"{" + encode_json(key) + b":["]
    chunk: list[Any] = []
    for item in items:
        chunk.append(convert(item))
        if len(chunk) >= batch:
            parts += (encode_json(chunk)[1:-1], b",")
            chunk = []
    if chunk:
        parts += (encode_json(chunk)[1:-1], b",")
    if len(parts) > 1:
        parts.pop()  # the last comma
    parts.append(b"]}")
    # One join, so the answer is copied once: each copy of a 25 MB answer holds
    # the GIL (and so the event loop) for tens of milliseconds.
    return b"".join(parts)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> bottle.HTTPResponse:
    """`body` is encoded here, unless it is bytes from `encode_json` already."""
    data = body if isinstance(body, bytes) else encode_json(body)
    resp = bottle.HTTPResponse(data, status=status, headers=headers or {})
    resp.content_type = "application/json"
    return resp


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> bottle.HTTPResponse:
    """Flamenco's error object `{code, message}` as a response, for routes outside the API plumbing."""
    return json_response(status, {"code": status, "message": message}, headers)
