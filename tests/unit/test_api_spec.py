"""Our OpenAPI spec: loads, is plain JSON Schema, and keeps upstream's wire format."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from flamenco_pkg.api.spec import iter_operations, load_spec, route_table, spec_json
from flamenco_pkg.api.validation import SchemaCompiler
from tests.openapi_check import (
    UPSTREAM_SCHEMA_FIXES,
    UPSTREAM_SPEC_PATH,
    assert_matches_own,
    assert_matches_upstream,
)

UUID = "1f7e2a3c-0b4d-4e5f-8a9b-0c1d2e3f4a5b"


@cache
def upstream() -> dict[str, Any]:
    if not UPSTREAM_SPEC_PATH.is_file():
        pytest.fail(f"upstream spec missing at {UPSTREAM_SPEC_PATH}")
    return yaml.safe_load(UPSTREAM_SPEC_PATH.read_text("utf-8"))


@cache
def upstream_fixed() -> dict[str, Any]:
    """Upstream with the documented real-vs-spec schema fixes applied."""
    spec = copy.deepcopy(upstream())
    for fix in UPSTREAM_SCHEMA_FIXES.values():
        fix(spec["components"]["schemas"])
    return spec


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


# ------------------------------------------------------- vs upstream paths

def test_same_operations_as_upstream() -> None:
    ours, theirs = ops_by_id(load_spec()), ops_by_id(upstream())
    assert set(ours) == set(theirs)
    for op_id, (method, path, _item, _op) in theirs.items():
        assert ours[op_id][:2] == (method, path), op_id


def _params(spec: dict[str, Any], item: dict, op: dict) -> dict[tuple[str, str], tuple]:
    compiler = SchemaCompiler(spec)
    out = {}
    for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
        p = compiler.resolve(raw)
        schema = compiler.inline(p.get("schema", {}))
        out[(p["name"], p["in"])] = (bool(p.get("required")), schema.get("type"), schema.get("enum"))
    return out


# Optional parameters this Manager adds; clients that never send them see upstream's behaviour.
EXTRA_OPTIONAL_PARAMS = {"fetchJobTasks": {("limit", "query"), ("offset", "query")},
                         "scheduleTask": {("X-Flamenco-Wait", "header")}}


@pytest.mark.parametrize("op_id", sorted(ops_by_id(upstream())))
def test_operation_parameters_and_bodies_match(op_id: str) -> None:
    _m, _p, item, op = ops_by_id(upstream())[op_id]
    _m, _p, our_item, our_op = ops_by_id(load_spec())[op_id]
    ours = _params(load_spec(), our_item, our_op)
    for key in EXTRA_OPTIONAL_PARAMS.get(op_id, ()):
        required, _type, _enum = ours.pop(key)
        assert not required, f"{op_id}: added parameter {key} must be optional"
    assert ours == _params(upstream(), item, op)
    assert our_op.get("tags") == op.get("tags")
    assert bool(our_op.get("security")) == bool(op.get("security"))

    body, our_body = op.get("requestBody"), our_op.get("requestBody")
    assert (body is None) == (our_body is None)
    if body:
        assert bool(our_body.get("required")) == bool(body.get("required"))
        assert set(our_body["content"]) == set(body["content"])
        for media, obj in body["content"].items():
            assert shape(our_body["content"][media]["schema"]) == shape(obj["schema"]), media


# ----------------------------------------------------- vs upstream schemas

def shape(node: Any) -> Any:
    """The wire-relevant part of a schema: names, types, formats, enums, required, ranges."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": node["$ref"].rsplit("/", 1)[-1]}
    out: dict[str, Any] = {}
    members = node.get("allOf", [])
    if members:
        out["extends"] = sorted(m["$ref"].rsplit("/", 1)[-1] for m in members if "$ref" in m)
        node = {  # merge the inline members
            "properties": {k: v for m in members for k, v in m.get("properties", {}).items()},
            "required": [r for m in members for r in m.get("required", [])],
        }
    for key in ("type", "format", "enum", "minimum", "maximum"):
        if key in node:
            out[key] = node[key]
    if "properties" in node:
        out["properties"] = {k: shape(v) for k, v in node["properties"].items()}
    if node.get("required"):
        out["required"] = sorted(set(node["required"]))
    for key in ("items", "additionalProperties"):
        if key in node:
            out[key] = shape(node[key])
    for key in ("anyOf", "oneOf"):
        if key in node:
            out[key] = [shape(m) for m in node[key]]
    return out


# Deliberate request-side tightenings of our spec: (schema, property) -> keywords.
# Upstream only range-checks JobPriorityChange.priority; we refuse out-of-range
# priorities on submission too (400), which the real Manager would store.
TIGHTENINGS = {("SubmittedJob", "priority"): {"minimum": 0, "maximum": 100}}
# Optional response properties this Manager adds (clients that do not know them ignore them).
EXTRA_OPTIONAL_PROPERTIES = {("FarmStatusReport", "disk_full")}


def _loosen(name: str, schema_shape: dict[str, Any]) -> dict[str, Any]:
    loose = copy.deepcopy(schema_shape)
    for schema_name, prop in EXTRA_OPTIONAL_PROPERTIES:
        if schema_name == name:
            assert prop not in loose.get("required", []), f"{name}.{prop} must stay optional"
            del loose["properties"][prop]
    for (schema_name, prop), keywords in TIGHTENINGS.items():
        if schema_name == name:
            prop_shape = loose["properties"][prop]
            for key, value in keywords.items():
                assert prop_shape.pop(key) == value
    return loose


@pytest.mark.parametrize("name", sorted(upstream()["components"]["schemas"]))
def test_component_schema_matches_upstream(name: str) -> None:
    ours = load_spec()["components"]["schemas"]
    assert name in ours, f"schema {name} missing"
    theirs = shape(upstream_fixed()["components"]["schemas"][name])
    assert _loosen(name, shape(ours[name])) == theirs


def test_documented_schema_fixes_are_real_differences() -> None:
    """Each fix must change upstream; otherwise it should be removed."""
    raw = upstream()["components"]["schemas"]
    fixed = upstream_fixed()["components"]["schemas"]
    changed = {n for n in raw if shape(raw[n]) != shape(fixed[n])}
    assert len(changed) == len(UPSTREAM_SCHEMA_FIXES)


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
                "$ref": "#/components/schemas/SecurityError"
            }, op_id
        if op.get("requestBody"):
            assert "400" in op["responses"], op_id


# ----------------------------------------------------------- route table

def test_route_table() -> None:
    routes = route_table()
    assert len(routes) == len(ops_by_id(upstream()))
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

def test_openapi_check_accepts_real_responses() -> None:
    job = {
        "id": UUID, "name": "j", "type": "simple-blender-render", "priority": 50,
        "submitter_platform": "", "settings": {}, "metadata": {}, "status": "queued",
        "created": "2025-03-01T12:00:03.1234Z", "updated": "0001-01-01T00:00:00Z",
        "activity": "", "steps_completed": 0, "steps_total": 3,
    }
    registered = {
        "uuid": UUID, "name": "w", "address": "10.0.0.1", "status": "", "platform": "linux",
        "software": "", "supported_task_types": ["blender"],
    }
    cases = [
        ("GET", f"/api/v3/jobs/{UUID}", 200, job),
        ("GET", f"/api/v3/jobs/{UUID}", 404, {"code": 404, "message": "no such job"}),
        ("GET", "/api/v3/jobs/not-a-uuid", 400, {"message": "bad"}),
        ("GET", "/api/v3/jobs/last-rendered", 204, None),
        ("GET", f"/api/v3/jobs/{UUID}/tasks", 200, {"tasks": []}),
        ("POST", "/api/v3/shaman/files/abc/12", 200, b""),
        ("POST", f"/api/v3/jobs/{UUID}/settag", 406, {"code": 406, "message": "no tag"}),
        ("POST", "/api/v3/worker/task", 403, {"message": "unauthorized"}),
        ("POST", "/api/v3/worker/task", 423, {"status_requested": "asleep"}),
        ("POST", "/api/v3/worker/register-worker", 200, registered),
        ("GET", "/api/v3/configuration/variables/users/linux", 200,
         {"jobs": {"value": "/srv", "is_twoway": False}}),
        ("GET", f"/api/v3/tasks/{UUID}/logtail", 200, "log line\n"),
        ("POST", f"/api/v3/worker/task/{UUID}/output-produced", 404, "Task does not exist"),
        ("GET", "/api/v3/no-such-thing", 404, {"message": "Not Found"}),
    ]
    for case in cases:
        assert_matches_upstream(*case)
        assert_matches_own(*case)


@pytest.mark.parametrize("check", [assert_matches_upstream, assert_matches_own])
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
