"""The quick schema check never accepts what jsonschema refuses, and it does accept the usual requests.

Every parameter and body schema of the spec is probed with values built from the schema itself
(valid ones, and each of them broken in the ways a client gets wrong) plus odd values of every type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flamenco_pkg.api.spec import load_spec
from flamenco_pkg.api.validation import CompiledSchema, RequestValidator, quick_check

UUID = "1f7e2a3c-0b4d-4e5f-8a9b-0c1d2e3f4a5b"
ODD = [None, True, False, 0, -1, 1, 24.0, 1.5, 2**63, 9007199254740993, -(2**63), "", "x", "ZZ",
       UUID, UUID.upper(), UUID + "0", "2024-02-30T10:00:00Z", "2024-02-03T10:00:00Z",
       "2024-02-03t10:00:00.5+01:00", [], [1], ["x"], {}, {"x": 1}]


def _samples(schema: Any, depth: int = 0) -> Iterator[Any]:
    """Values near the schema's edges, valid and not."""
    yield from ODD
    if not isinstance(schema, dict) or depth > 3:
        return
    for value in schema.get("enum", []):
        yield value
        yield str(value).upper()
    for key in ("minimum", "maximum"):
        if key in schema:
            b = schema[key]
            yield from (b, b - 1, b + 1, b - 0.5, b + 0.5, float(b))
    for key in ("minLength", "maxLength"):
        if key in schema:
            yield from ("a" * max(0, schema[key] - 1), "a" * schema[key], "a" * (schema[key] + 1))
    if "items" in schema:
        for item in list(_samples(schema["items"], depth + 1))[:40]:
            yield [item]
            yield [item, item]
    props = schema.get("properties", {})
    if props or "required" in schema:
        base = {name: next(iter(_valid(sub))) for name, sub in props.items() if _valid(sub)}
        yield dict(base)
        for name in props:
            yield {k: v for k, v in base.items() if k != name}
            for value in list(_samples(props[name], depth + 1))[:60]:
                yield {**base, name: value}
        yield {**base, "unexpected_property": 1}


def _valid(schema: Any) -> list[Any]:
    if not isinstance(schema, dict):
        return []
    if "enum" in schema:
        return list(schema["enum"])
    kind = schema.get("type")
    return {"string": [UUID if schema.get("format") == "uuid" else "2024-02-03T10:00:00Z"
                       if schema.get("format") == "date-time" else "a" * max(1, schema.get("minLength", 1))],
            "integer": [schema.get("minimum", 1)], "number": [1.5], "boolean": [True],
            "array": [[]], "object": [{}]}.get(kind, [])


def _compiled() -> list[tuple[str, CompiledSchema]]:
    validator = RequestValidator(load_spec())
    found = []
    for op, rules in validator._rules.items():  # noqa: SLF001 — the compiled schemas are what is tested
        found += [(f"{op} {p.name}", p.validator) for p in rules.params if p.validator is not None]
        found += [(f"{op} body", v) for v in rules.body_validators.values()]
    return found


COMPILED = _compiled()


@pytest.mark.parametrize("name,compiled", COMPILED, ids=[n for n, _ in COMPILED])
def test_the_quick_check_never_accepts_an_invalid_value(name: str, compiled: CompiledSchema) -> None:
    assert compiled.quick is not None, f"{name}: the spec uses a keyword the quick check does not know"
    for value in _samples(compiled.validator.schema):
        if compiled.quick(value):
            assert compiled.validator.is_valid(value), (name, value)
        assert (compiled.first_error(value) is None) == compiled.validator.is_valid(value), (name, value)


def test_the_workers_usual_requests_take_the_quick_check() -> None:
    by_name = dict(COMPILED)
    update = by_name["taskUpdate body"]
    for body in ({"taskStatus": "completed"}, {"activity": "Rendering", "log": "line\n", "steps_completed": 3}):
        assert update.quick(body)
    assert not update.quick({"taskStatus": "done"})
    assert by_name["taskUpdate task_id"].quick(UUID)
    assert by_name["scheduleTask X-Flamenco-Wait"].quick(30)
    assert not by_name["scheduleTask X-Flamenco-Wait"].quick(3601)


@pytest.mark.parametrize("schema", [
    {"anyOf": [{"type": "string"}]}, {"$ref": "#/x"}, {"enum": [1, "a"]}, {"type": "object", "patternProperties": {}},
    {"type": "array", "items": {"not": {}}}, {"properties": {"a": {"oneOf": []}}},
])
def test_keywords_it_does_not_know_leave_the_decision_to_jsonschema(schema: Any) -> None:
    assert quick_check(schema) is None


def test_unknown_annotations_are_ignored_as_jsonschema_does() -> None:
    check = quick_check({"type": "string", "description": "d", "example": 3, "x-go-type": "T"})
    assert check is not None and check("a") and not check(1)
