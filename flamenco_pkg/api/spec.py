"""Access to the Manager's own OpenAPI document and the routes it defines."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

_PARAM_RE = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation, as needed to register it with Bottle."""

    method: str  # upper case, e.g. "GET"
    path: str  # OpenAPI template, e.g. "/api/v3/jobs/{job_id}"
    bottle_path: str  # e.g. "/api/v3/jobs/<job_id>"
    operation_id: str
    tags: tuple[str, ...]
    secured: bool  # True when worker_auth (HTTP Basic) is required


@functools.cache
def load_spec() -> dict[str, Any]:
    """Return the parsed OpenAPI document (cached; treat it as read-only)."""
    text = resources.files(__package__).joinpath("openapi.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - safe loader


@functools.cache
def spec_json() -> bytes:
    """The OpenAPI document as JSON, for serving at /api/v3/openapi3.json."""
    return json.dumps(load_spec(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def to_bottle_path(openapi_path: str) -> str:
    """Convert `/a/{b}/c` into Bottle's `/a/<b>/c`."""
    return _PARAM_RE.sub(r"<\1>", openapi_path)


def iter_operations(spec: dict[str, Any]):
    """Yield (method, path, path_item, operation) for every operation in `spec`."""
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is not None:
                yield method, path, item, op


def is_secured(spec: dict[str, Any], op: dict[str, Any]) -> bool:
    """True when the operation requires at least one security scheme."""
    requirements = op.get("security", spec.get("security", []))
    return any(bool(req) for req in requirements)


def route_table() -> list[Operation]:
    """All operations of our spec; paths without parameters come first."""
    return list(_route_table())


@functools.cache
def _route_table() -> tuple[Operation, ...]:
    spec = load_spec()
    ops = [
        Operation(
            method=method.upper(),
            path=path,
            bottle_path=to_bottle_path(path),
            operation_id=op["operationId"],
            tags=tuple(op.get("tags", ())),
            secured=is_secured(spec, op),
        )
        for method, path, _item, op in iter_operations(spec)
    ]
    ops.sort(key=lambda o: ("{" in o.path, o.path, o.method))
    return tuple(ops)
