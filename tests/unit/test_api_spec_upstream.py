"""Our OpenAPI spec keeps upstream Flamenco's wire format: same operations, parameters and schemas.

Upstream's spec is read from ../shared/reference/ beside this repository; in a
clone without it, this whole module is skipped (the reason says where it looks).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest

from flamenco_pkg.api.spec import iter_operations, load_spec, route_table
from flamenco_pkg.api.validation import SchemaCompiler
from tests.openapi_check import (
    UPSTREAM_MISSING_REASON,
    UPSTREAM_SCHEMA_FIXES,
    assert_matches_upstream,
    upstream_available,
    upstream_spec,
)
from tests.unit.test_api_spec import REAL_RESPONSES, ops_by_id

if not upstream_available():
    pytest.skip(UPSTREAM_MISSING_REASON, allow_module_level=True)


def upstream() -> dict[str, Any]:
    return upstream_spec()


@cache
def upstream_fixed() -> dict[str, Any]:
    """Upstream with the documented real-vs-spec schema fixes applied."""
    spec = copy.deepcopy(upstream())
    for fix in UPSTREAM_SCHEMA_FIXES.values():
        fix(spec["components"]["schemas"])
    return spec


# ------------------------------------------------------- vs upstream paths

# Operations this Manager adds (issue 14: logins, users, tokens, audit log), all under the `auth` tag.
OUR_TAG = "auth"


def upstream_ops_of_ours() -> dict[str, tuple[str, str, dict, dict]]:
    return {op_id: op for op_id, op in ops_by_id(load_spec()).items() if OUR_TAG not in op[3].get("tags", ())}


def test_same_operations_as_upstream() -> None:
    ours, theirs = upstream_ops_of_ours(), ops_by_id(upstream())
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


# Optional query parameters this Manager adds; clients that never send them see upstream's behaviour.
EXTRA_OPTIONAL_PARAMS = {"fetchJobTasks": {("limit", "query"), ("offset", "query")},
                         "fetchJobs": {("limit", "query"), ("offset", "query"), ("sort", "query")},
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
EXTRA_OPTIONAL_PROPERTIES = {("FarmStatusReport", "disk_full"), ("Job", "submitted_by")}


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


def test_route_table_has_every_upstream_operation() -> None:
    ours = [op for op in route_table() if OUR_TAG not in op.tags]
    assert len(ours) == len(ops_by_id(upstream()))


def test_openapi_check_accepts_real_responses_upstream() -> None:
    for case in REAL_RESPONSES:
        assert_matches_upstream(*case)
