"""Our OpenAPI spec: loads, is plain JSON Schema, documents the real codes; the response checker works.

Comparisons with upstream's spec are in test_api_spec_upstream.py (skipped
when upstream's spec is not beside this repository).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flamenco_pkg.api.spec import iter_operations, load_spec, route_table, spec_json
from flamenco_pkg.api.validation import SchemaCompiler
from tests.openapi_check import (
    UPSTREAM_MISSING_REASON,
    assert_matches_own,
    assert_matches_upstream,
    upstream_available,
)

UUID = "1f7e2a3c-0b4d-4e5f-8a9b-0c1d2e3f4a5b"


def ops_by_id(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict, dict]]:
    return {op["operationId"]: (m, p, item, op) for m, p, item, op in iter_operations(spec)}


def walk(node: Any):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# ------------------------------------------------------------------ basics

def test_spec_loads_and_serialises() -> None:
    spec = load_spec()
    assert spec["openapi"] == "3.0.3"
    assert load_spec() is spec  # cached
    assert json.loads(spec_json()) == spec


def test_no_yaml_accidents() -> None:
    """Null values or non-string keys mean a YAML flow mapping went wrong."""
    for node in walk(load_spec()):
        if isinstance(node, dict):
            assert all(isinstance(k, str) for k in node), node
            assert None not in node.values(), node


def test_valid_openapi_document() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(copy.deepcopy(load_spec()))


def test_all_refs_resolve() -> None:
    spec = load_spec()
    compiler = SchemaCompiler(spec)
    refs = {n["$ref"] for n in walk(spec) if isinstance(n, dict) and isinstance(n.get("$ref"), str)}
    assert refs
    for ref in refs:
        assert compiler.resolve({"$ref": ref}) is not None, ref


def test_schemas_are_plain_json_schema() -> None:
    spec = load_spec()
    compiler = SchemaCompiler(spec)
    for node in walk(spec["components"]["schemas"]):
        if isinstance(node, dict):
            assert "nullable" not in node
    for name, schema in spec["components"]["schemas"].items():
        Draft202012Validator.check_schema(compiler.inline(schema))


def test_worker_auth_scheme() -> None:
    scheme = load_spec()["components"]["securitySchemes"]["worker_auth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")


# -------------------------------------------------------- real responses

def test_responses_use_real_codes() -> None:
    ops = ops_by_id(load_spec())
    codes = {op_id: set(op["responses"]) for op_id, (_m, _p, _i, op) in ops.items()}
    assert "200" in codes["shamanFileStore"] and "204" not in codes["shamanFileStore"]
    assert "406" in codes["setJobTag"] and "422" not in codes["setJobTag"]
    assert {"200", "204", "403", "409", "423", "503"} <= codes["scheduleTask"]
    assert {"400", "409", "424", "500"} <= codes["shamanCheckout"]  # ours: specific codes, not 500 for all
    assert not any("422" in c for c in codes.values())
    assert not any("default" in c for c in codes.values())


def test_secured_operations_document_403_and_bodies_document_400() -> None:
    spec = load_spec()
    compiler = SchemaCompiler(spec)
    for op_id, (_m, _p, _i, op) in ops_by_id(spec).items():
        if op.get("security"):
            forbidden = compiler.resolve(op["responses"]["403"])
            assert forbidden["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, op_id
        if op.get("requestBody"):
            assert "400" in op["responses"], op_id


def test_every_error_response_is_the_error_object() -> None:
    """4xx/5xx answers are `{code, message}`, except three that upstream deliberately sends otherwise."""
    spec = load_spec()
    compiler = SchemaCompiler(spec)
    not_error_objects = {("taskOutputProduced", "404"), ("scheduleTask", "423"), ("shamanFileStore", "425")}
    for op_id, (_m, _p, _i, op) in ops_by_id(spec).items():
        for code, response in op["responses"].items():
            if int(code) < 400 or (op_id, code) in not_error_objects:
                continue
            content = compiler.resolve(response).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            assert schema == {"$ref": "#/components/schemas/Error"}, (op_id, code, schema)


# ----------------------------------------------------------- route table

def test_route_table() -> None:
    routes = route_table()
    assert len(routes) == len(ops_by_id(load_spec()))
    by_id = {r.operation_id: r for r in routes}
    job = by_id["fetchJob"]
    assert (job.method, job.path, job.bottle_path) == ("GET", "/api/v3/jobs/{job_id}", "/api/v3/jobs/<job_id>")
    assert by_id["shamanFileStore"].bottle_path == "/api/v3/shaman/files/<checksum>/<filesize>"
    secured = {r.operation_id for r in routes if r.secured}
    worker_ops = {r.operation_id for r in routes if "worker" in r.tags}
    assert secured == worker_ops - {"registerWorker"}
    static = [("{" not in r.path) for r in routes]
    assert static == sorted(static, reverse=True), "static paths must come first"


# ------------------------------------------------------ openapi_check helper

_JOB = {
    "id": UUID, "name": "j", "type": "simple-blender-render", "priority": 50,
    "submitter_platform": "", "settings": {}, "metadata": {}, "status": "queued",
    "created": "2025-03-01T12:00:03.1234Z", "updated": "0001-01-01T00:00:00Z",
    "activity": "", "steps_completed": 0, "steps_total": 3,
}
_REGISTERED = {
    "uuid": UUID, "name": "w", "address": "10.0.0.1", "status": "offline", "platform": "linux",
    "software": "", "supported_task_types": ["blender"],
}
# Answers the Manager really gives; both specs must accept them.
REAL_RESPONSES = [
    ("GET", f"/api/v3/jobs/{UUID}", 200, _JOB),
    ("GET", f"/api/v3/jobs/{UUID}", 404, {"code": 404, "message": "no such job"}),
    ("GET", "/api/v3/jobs/not-a-uuid", 400, {"code": 400, "message": "bad"}),
    ("GET", "/api/v3/jobs/last-rendered", 204, None),
    ("GET", f"/api/v3/jobs/{UUID}/tasks", 200, {"tasks": []}),
    ("POST", "/api/v3/shaman/files/abc/12", 200, b""),
    ("POST", f"/api/v3/jobs/{UUID}/settag", 406, {"code": 406, "message": "no tag"}),
    ("POST", "/api/v3/worker/task", 403, {"code": 403, "message": "unauthorized"}),
    ("POST", "/api/v3/worker/task", 423, {"status_requested": "asleep"}),
    ("POST", "/api/v3/worker/register-worker", 200, _REGISTERED),
    ("GET", "/api/v3/configuration/variables/users/linux", 200,
     {"jobs": {"value": "/srv", "is_twoway": False}}),
    ("GET", f"/api/v3/tasks/{UUID}/logtail", 200, "log line\n"),
    ("POST", f"/api/v3/worker/task/{UUID}/output-produced", 404, "Task does not exist"),
    ("GET", "/api/v3/no-such-thing", 404, {"code": 404, "message": "Not Found"}),
    ("PUT", "/api/v3/version", 405, {"code": 405, "message": "Method not allowed."}),
]


def test_openapi_check_accepts_real_responses() -> None:
    for case in REAL_RESPONSES:
        assert_matches_own(*case)


def _upstream_check(*args: Any) -> None:
    if not upstream_available():
        pytest.skip(UPSTREAM_MISSING_REASON)
    assert_matches_upstream(*args)


@pytest.mark.parametrize("check", [_upstream_check, assert_matches_own], ids=["upstream", "own"])
def test_openapi_check_rejects_bad_responses(check) -> None:
    with pytest.raises(AssertionError, match=r'property "shortversion" is missing|"shortversion"'):
        check("GET", "/api/v3/version", 200, {"version": "1", "name": "x", "git": "y"})
    with pytest.raises(AssertionError, match="status 418 is not declared"):
        check("GET", f"/api/v3/jobs/{UUID}", 418, {"code": 418, "message": "teapot"})
    with pytest.raises(AssertionError, match="RFC 3339"):
        check("GET", "/api/v3/worker-mgt/workers", 200, {"workers": [{
            "id": UUID, "name": "w", "status": "awake", "version": "3.9",
            "can_restart": False, "last_seen": "yesterday"}]})
    with pytest.raises(AssertionError, match="code 400, HTTP status is 404"):
        check("GET", f"/api/v3/jobs/{UUID}", 404, {"code": 400, "message": "x"})
    with pytest.raises(AssertionError, match="no body"):
        check("POST", "/api/v3/worker/sign-off", 204, {"unexpected": True})
    with pytest.raises(AssertionError, match="no path template"):
        check("GET", "/api/v3/bogus", 200, {})
    with pytest.raises(AssertionError, match="code 400, HTTP status is 404"):
        check("GET", "/api/v3/bogus", 404, {"code": 400, "message": "x"})


def test_own_check_wants_the_error_object_everywhere() -> None:
    """Ours is strict: a bare `{message}` (upstream's validator shape) is refused."""
    for method, path, status in [("GET", "/api/v3/jobs/not-a-uuid", 400), ("POST", "/api/v3/worker/task", 403),
                                 ("GET", "/api/v3/no-such-thing", 404), ("PUT", "/api/v3/version", 405)]:
        with pytest.raises(AssertionError, match="code"):
            assert_matches_own(method, path, status, {"message": "bad"})
