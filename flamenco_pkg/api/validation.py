"""Validate incoming API requests against our OpenAPI spec.

Failures raise `RequestInvalid`, which the app turns into
`400 {"message": ...}` (the shape Flamenco's request validator uses).
Authentication is not handled here.

All validators are built once, in `RequestValidator.__init__`: `$ref`s are
resolved with the `referencing` library and inlined, so validating a request
body is a single pass of a plain Draft 2020-12 validator. Draft 2020-12 (like
Go's validator) accepts integral floats such as `24.0` for `integer` fields.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .spec import iter_operations

SPEC_URI = "urn:flamenco-py:openapi"

_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_INT_RE = re.compile(r"[+-]?\d+")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
# Schema keywords whose values are data, not subschemas: never inline into them.
_DATA_KEYWORDS = frozenset({"example", "examples", "default", "enum", "const"})

FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or _UUID_RE.fullmatch(value) is not None


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if _DATETIME_RE.fullmatch(value) is None:
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # range checks
    return True


class RequestInvalid(Exception):
    """The request does not match the spec; answer 400 {"message": message}."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class ValidRequest:
    """Validated request parts.

    - `path`: the raw path strings, already checked (e.g. `filesize` is a
      valid integer literal, IDs are UUIDs where the spec says so).
    - `query`, `headers`: declared parameters, converted to their schema type.
    - `body`: parsed JSON for JSON bodies (integral numbers such as `24.0`
      arrive as int); the untouched body for binary media types (b"" when
      empty, so the handler can answer 411 / 417); None when the operation
      takes no body or an optional body was left out.
    """

    path: dict[str, str]
    query: dict[str, Any]
    body: Any
    headers: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- messages

def json_path(parts: Any) -> str:
    """Render instance path segments as `files[0].size` / `metadata['a.b']`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT_RE.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += "[" + repr(part) + "]"
    return out


_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number",
    "boolean": "a boolean", "object": "an object", "array": "an array", "null": "null",
}
_FORMAT_NAMES = {"uuid": "UUID", "date-time": "RFC 3339 date-time"}


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _detail(error: ValidationError) -> str:
    """Human-readable reason for one schema violation (without the location)."""
    kw, expected, got = error.validator, error.validator_value, error.instance
    if kw == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        return f"must be {wanted}; got {_show(got)}"
    if kw == "enum":
        return "must be one of " + ", ".join(_show(v) for v in expected) + f"; got {_show(got)}"
    if kw == "const":
        return f"must be {_show(expected)}; got {_show(got)}"
    if kw == "maximum":
        return f"must be at most {expected}"
    if kw == "minimum":
        return f"must be at least {expected}"
    if kw == "exclusiveMaximum":
        return f"must be less than {expected}"
    if kw == "exclusiveMinimum":
        return f"must be greater than {expected}"
    if kw == "pattern":
        return f"must match the pattern {expected!r}; got {_show(got)}"
    if kw == "format":
        return f"must be a valid {_FORMAT_NAMES.get(expected, expected)}; got {_show(got)}"
    if kw in ("minLength", "maxLength"):
        bound = "at least" if kw == "minLength" else "at most"
        return f"must have {bound} {expected} characters"
    if kw in ("minItems", "maxItems"):
        bound = "at least" if kw == "minItems" else "at most"
        return f"must have {bound} {expected} items"
    if kw == "additionalProperties" and expected is False:
        return "has unexpected properties"
    if kw in ("anyOf", "oneOf"):
        return f"does not match any of the allowed forms; got {_show(got)}"
    return error.message


def describe_error(error: ValidationError) -> str:
    """Describe a schema violation, naming the offending JSON path."""
    where = json_path(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = [n for n in error.validator_value if n not in instance]
        names = [json_path([*error.absolute_path, n]) for n in missing] or ["?"]
        if len(names) == 1:
            return f'property "{names[0]}" is missing'
        return "properties " + ", ".join(f'"{n}"' for n in names) + " are missing"
    return f'property "{where}": {_detail(error)}' if where else _detail(error)


# ------------------------------------------------------------ quick checks

Check = Callable[[Any], bool]

# The keywords `quick_check` understands; jsonschema ignores keywords it does not know, and so does it.
_QUICK_KEYWORDS = frozenset({
    "type", "enum", "properties", "required", "additionalProperties", "items", "minimum", "maximum",
    "minLength", "maxLength", "pattern", "format",
})
_ALL_KEYWORDS = frozenset(Draft202012Validator.VALIDATORS)


def _is_integer(value: Any) -> bool:  # Draft 2020-12: 24.0 is an integer too
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Check] = {
    "string": lambda v: isinstance(v, str), "integer": _is_integer, "number": _is_number,
    "boolean": lambda v: isinstance(v, bool), "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list), "null": lambda v: v is None,
}


def quick_check(schema: Any) -> Check | None:
    """A plain-Python test that is True only for values jsonschema accepts too; None when `schema`
    uses a keyword it does not know (then jsonschema alone decides).

    It may say False for a valid value (an enum of non-strings): the caller then asks jsonschema,
    which decides and names the fault. So it changes no decision, and valid requests, nearly all
    of them, skip jsonschema's generic walk.
    """
    if schema is True or schema == {}:
        return lambda _v: True
    if not isinstance(schema, dict) or not set(schema) & _ALL_KEYWORDS <= _QUICK_KEYWORDS:
        return None
    checks: list[Check] = []
    types = schema.get("type")
    if types is not None:
        tests = [_TYPE_CHECKS[t] for t in ([types] if isinstance(types, str) else types) if t in _TYPE_CHECKS]
        if len(tests) == 1:
            checks.append(tests[0])
        else:
            checks.append(lambda v, tests=tests: any(t(v) for t in tests))
    if "enum" in schema:
        if not all(isinstance(e, str) for e in schema["enum"]):
            return None
        allowed = frozenset(schema["enum"])
        checks.append(lambda v: isinstance(v, str) and v in allowed)
    for key, compare in (("minimum", operator.ge), ("maximum", operator.le)):
        if key in schema:  # int against float compares exactly in Python, as jsonschema does
            checks.append(lambda v, bound=schema[key], compare=compare: not _is_number(v) or compare(v, bound))
    if "minLength" in schema:
        checks.append(lambda v, n=schema["minLength"]: not isinstance(v, str) or len(v) >= n)
    if "maxLength" in schema:
        checks.append(lambda v, n=schema["maxLength"]: not isinstance(v, str) or len(v) <= n)
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
    if "format" in schema:
        checks.append(lambda v, fmt=schema["format"]: FORMAT_CHECKER.conforms(v, fmt))
    if "items" in schema:
        item = quick_check(schema["items"])
        if item is None:
            return None
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if {"properties", "required", "additionalProperties"} & set(schema):
        props: dict[str, Check] = {}
        for name, sub in schema.get("properties", {}).items():
            check = quick_check(sub)
            if check is None:
                return None
            props[name] = check
        required = tuple(schema.get("required", ()))
        extra = schema.get("additionalProperties", True)
        extra_check = quick_check(extra) if extra is not False else (lambda _v: False)
        if extra_check is None:
            return None

        def check_object(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for name in required:
                if name not in v:
                    return False
            for name, value in v.items():
                check = props.get(name, extra_check)
                if not check(value):
                    return False
            return True

        checks.append(check_object)
    if not checks:
        return lambda _v: True
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """One schema, ready to check values: the quick test first, jsonschema for the rest."""

    validator: Draft202012Validator
    quick: Check | None

    def first_error(self, value: Any) -> ValidationError | None:
        """None when `value` is valid, else the violation to report (jsonschema's best match)."""
        if self.quick is not None and self.quick(value):
            return None
        return best_match(self.validator.iter_errors(value))


# ------------------------------------------------------------ schema tools

class SchemaCompiler:
    """Resolves `$ref`s of one OpenAPI document and builds validators."""

    def __init__(self, spec: dict[str, Any], base_uri: str = SPEC_URI) -> None:
        self.base_uri = base_uri
        self.registry = Registry().with_resource(base_uri, DRAFT202012.create_resource(spec))
        self._resolver = self.registry.resolver(base_uri=base_uri)

    def resolve(self, node: Any) -> Any:
        """Follow a top-level `$ref` (e.g. of a parameter or request body)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node = self._resolver.lookup(node["$ref"]).contents
        return node

    def inline(self, schema: Any, chain: tuple[str, ...] = ()) -> Any:
        """Copy `schema` with every `$ref` replaced by its target.

        Recursive references are left in place (made absolute); the validators
        get the registry, so they still resolve.
        """
        if isinstance(schema, list):
            return [self.inline(item, chain) for item in schema]
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if isinstance(ref, str):
            absolute = ref if ":" in ref.split("#", 1)[0] else self.base_uri + ref
            if absolute in chain:
                return {**schema, "$ref": absolute}
            target = self.inline(self._resolver.lookup(absolute).contents, chain + (absolute,))
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return {"allOf": [target], **self.inline(rest, chain)} if rest else target
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):  # keys are names, not keywords
                out[key] = {name: self.inline(sub, chain) for name, sub in value.items()}
            elif key in _DATA_KEYWORDS:
                out[key] = value
            else:
                out[key] = self.inline(value, chain)
        return out

    def validator(self, schema: Any) -> CompiledSchema:
        """A Draft 2020-12 validator with uuid/date-time format checks, and its quick check."""
        inlined = self.inline(schema)
        return CompiledSchema(
            Draft202012Validator(inlined, registry=self.registry, format_checker=FORMAT_CHECKER),
            quick_check(inlined),
        )


# -------------------------------------------------------------- parameters

@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    location: str  # path | query | header
    required: bool
    kind: str  # JSON type of the schema
    validator: CompiledSchema | None

    def fail(self, reason: str) -> RequestInvalid:
        return RequestInvalid(f'parameter "{self.name}" in {self.location} has an error: {reason}')

    def convert(self, raw: str) -> Any:
        """Parse the raw string into the schema type and validate it."""
        value: Any = raw
        if self.kind == "integer":
            if _INT_RE.fullmatch(raw) is None:
                raise self.fail(f"must be an integer; got {_show(raw)}")
            value = int(raw)
        elif self.kind == "number":
            try:
                value = float(raw)
            except ValueError:
                raise self.fail(f"must be a number; got {_show(raw)}") from None
        elif self.kind == "boolean":
            if raw not in _TRUE and raw not in _FALSE:
                raise self.fail(f"must be a boolean; got {_show(raw)}")
            value = raw in _TRUE
        if self.validator is not None:
            error = self.validator.first_error(value)
            if error is not None:
                raise self.fail(_detail(error))
        return value


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive: a server's header mapping (Bottle's) is so itself; a plain dict is searched."""
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lower = name.lower()
        for key, val in headers.items():
            if key.lower() == lower:
                return val
    return value


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_float(text: str) -> int | float:
    """Integral JSON numbers (`24.0`) become ints, as Go re-encodes them."""
    value = float(text)
    return int(value) if value.is_integer() else value


# One decoder for every body: json.loads with options builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_parse_float)


def _decode_json(body: bytes) -> Any:
    """`json.loads(body, parse_constant=..., parse_float=...)`, with the same errors."""
    return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


# -------------------------------------------------------------- operations

@dataclass(frozen=True, slots=True)
class _Rules:
    params: tuple[_Param, ...]
    has_body: bool
    body_required: bool
    media_types: tuple[str, ...]  # lower-cased, as in the spec
    binary_only: bool
    body_validators: Mapping[str, CompiledSchema]


class RequestValidator:
    """Validates requests of every operation of an OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._compiler = SchemaCompiler(spec)
        self._rules: dict[str, _Rules] = {}
        for _method, _path, item, op in iter_operations(spec):
            self._rules[op["operationId"]] = self._compile(item, op)

    @property
    def operation_ids(self) -> frozenset[str]:
        return frozenset(self._rules)

    def _compile(self, item: dict[str, Any], op: dict[str, Any]) -> _Rules:
        resolve = self._compiler.resolve
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
            p = resolve(raw)
            merged[(p["name"], p["in"])] = p  # operation-level wins
        params = []
        for p in merged.values():
            if p["in"] == "cookie":
                continue
            schema = self._compiler.inline(p.get("schema", {}))
            kind = schema.get("type", "string") if isinstance(schema, dict) else "string"
            trivial = isinstance(schema, dict) and set(schema) <= {"type", "description"}
            params.append(_Param(
                name=p["name"], location=p["in"],
                required=bool(p.get("required")) or p["in"] == "path", kind=kind,
                validator=None if trivial else self._compiler.validator(schema),
            ))
        body = resolve(op.get("requestBody"))
        content = {k.lower(): v for k, v in (body or {}).get("content", {}).items()}
        validators = {
            media: self._compiler.validator(media_obj["schema"])
            for media, media_obj in content.items()
            if _is_json(media) and "schema" in media_obj
        }
        return _Rules(
            params=tuple(params), has_body=body is not None,
            body_required=bool(body and body.get("required")),
            media_types=tuple(content),
            binary_only=bool(content) and not any(_is_json(m) for m in content),
            body_validators=validators,
        )

    def validate(
        self,
        operation_id: str,
        *,
        path: dict[str, str],
        query: Mapping[str, str],
        headers: Mapping[str, str],
        content_type: str | None,
        body: bytes,
    ) -> ValidRequest:
        """Check one request; raise RequestInvalid or return its parsed parts.

        `body` is the raw request body. For binary operations (images, Shaman
        uploads) only emptiness and Content-Type are checked, so a file-like
        object may be passed instead of bytes to avoid reading it into memory.
        """
        try:
            rules = self._rules[operation_id]
        except KeyError:
            raise KeyError(f"unknown operation {operation_id!r}") from None
        query_out: dict[str, Any] = {}
        headers_out: dict[str, Any] = {}
        for param in rules.params:
            if param.location == "path":
                raw = path.get(param.name)
            elif param.location == "query":
                raw = query.get(param.name)
            else:
                raw = _header(headers, param.name)
            if raw is None:
                if param.required:
                    raise param.fail("value is required but missing")
                continue
            value = param.convert(raw)
            if param.location == "query":
                query_out[param.name] = value
            elif param.location == "header":
                headers_out[param.name] = value
        parsed = self._body(rules, content_type, body) if rules.has_body else None
        return ValidRequest(path=dict(path), query=query_out, body=parsed, headers=headers_out)

    def _body(self, rules: _Rules, content_type: str | None, body: bytes) -> Any:
        if not body:
            if rules.binary_only:
                return b""  # let the handler decide (411 / size mismatch)
            if rules.body_required:
                raise RequestInvalid("request body has an error: value is required but missing")
            return None
        expected = ", ".join(f'"{m}"' for m in rules.media_types)
        media = _media_type(content_type)
        if media is None:
            raise RequestInvalid(f"header Content-Type is missing; expected {expected}")
        matched = _match_media(media, rules.media_types)
        if matched is None:
            raise RequestInvalid(
                f'header Content-Type has unexpected value "{content_type}"; expected {expected}'
            )
        if not _is_json(matched):
            return body  # not copied: may be large (Shaman uploads)
        try:
            value = _decode_json(body)
        except ValueError as exc:
            raise RequestInvalid(f"request body has an error: invalid JSON: {exc}") from None
        validator = rules.body_validators.get(matched)
        if validator is not None:
            error = validator.first_error(value)
            if error is not None:
                raise RequestInvalid("request body has an error: " + describe_error(error))
        return value


def _match_media(media: str, allowed: tuple[str, ...]) -> str | None:
    if media in allowed:
        return media
    major = media.split("/", 1)[0]
    for candidate in allowed:
        if candidate == "*/*" or candidate == f"{major}/*":
            return candidate
    return None
