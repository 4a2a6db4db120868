"""Test helper: check API responses against the upstream Flamenco spec or ours.

    from tests.openapi_check import assert_matches_upstream, assert_matches_own
    resp = client.get(f"/api/v3/jobs/{job_id}")
    assert_matches_upstream("GET", f"/api/v3/jobs/{job_id}", resp.status_code, resp.json())

`body` is the parsed JSON body, text for `text/plain` responses, and None, b""
or "" for an empty body. Bytes are JSON-decoded when a JSON body is expected.

Upstream's spec lives beside this repository (../shared/reference/), not in
it: `upstream_available()` says whether it is there, and tests that compare
with it skip with `UPSTREAM_MISSING_REASON` when it is not.
`assert_matches_specs` checks against ours always and upstream's when present.

The upstream spec is known to disagree with what the real (Go) Manager
sends; those documented differences (reference api.md, §1 and §5) are
encoded below as `UPSTREAM_SCHEMA_FIXES` and `UPSTREAM_EXTRA_RESPONSES`, plus
two generic rules: a 400 may carry just `{"message"}` (request validator),
and so may a 403 on worker-authenticated operations.
Against our own spec nothing is relaxed: it must document the real codes.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml

from flamenco_pkg.api.spec import is_secured, iter_operations
from flamenco_pkg.api.validation import SchemaCompiler, describe_error

REPO_ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_SPEC_PATH = REPO_ROOT.parent / "shared" / "reference" / "flamenco-openapi.yaml"
OWN_SPEC_PATH = REPO_ROOT / "flamenco_pkg" / "api" / "openapi.yaml"

EMPTY = "<empty body>"  # expectation: no response body
TEXT = "<text body>"  # expectation: a text/plain body
_ERROR = {"$ref": "#/components/schemas/Error"}
_SECURITY_ERROR = {"$ref": "#/components/schemas/SecurityError"}
_MESSAGE_ONLY = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}, "code": {"type": "integer"}},
}


def _drop_required(name: str, prop: str):
    def fix(schemas: dict[str, Any]) -> None:
        schemas[name]["required"] = [r for r in schemas[name]["required"] if r != prop]
    return fix


def _set_required(name: str, required: list[str]):
    def fix(schemas: dict[str, Any]) -> None:
        schemas[name]["required"] = required
    return fix


# Schema bugs of the upstream spec: the real Manager never sends these fields.
UPSTREAM_SCHEMA_FIXES = {
    "ManagerVariable: `name` is required but never sent": _drop_required("ManagerVariable", "name"),
    "RegisteredWorker: requires `current_task`, which it does not list": _drop_required(
        "RegisteredWorker", "current_task"),
    "JobTasksSummary: requires `jobs`, sends `tasks`": _set_required("JobTasksSummary", ["tasks"]),
    "EventLastRenderedUpdate: `task_id` never sent": _drop_required("EventLastRenderedUpdate", "task_id"),
}

# (operationId, status) -> expected body, for real answers the upstream spec
# does not declare (or declares without a body). See api.md §2 and §5 trap 4.
UPSTREAM_EXTRA_RESPONSES: dict[tuple[str, int], Any] = {
    ("shamanFileStore", 200): EMPTY,  # spec: 204
    ("shamanFileStore", 417): _ERROR,  # spec: no body
    ("setJobTag", 406): _ERROR,  # spec: 422
    ("shamanCheckout", 500): _ERROR,  # spec: 424 / 409
    ("taskOutputProduced", 404): {"type": "string"},  # bare JSON string
    ("scheduleTask", 409): _ERROR,  # spec: no body
    ("scheduleTask", 500): _ERROR,
    ("scheduleTask", 503): _ERROR,
    ("taskUpdate", 409): _ERROR,  # spec: no body
    ("getConfiguration", 500): _ERROR,
    ("fetchWorker", 404): _ERROR,
    ("fetchWorkerTag", 404): _ERROR,
    ("getJobType", 404): _ERROR,
    ("fetchJob", 404): _ERROR,
    ("deleteJobWhatWouldItDo", 404): _ERROR,
}


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _is_empty(body: Any) -> bool:
    return body is None or body == b"" or body == ""


def _short(body: Any) -> str:
    text = json.dumps(body, default=repr) if not isinstance(body, bytes) else repr(body)
    return text if len(text) <= 300 else text[:297] + "..."


class SpecChecker:
    """Checks (method, path, status, body) against one OpenAPI document."""

    def __init__(self, name: str, spec: dict[str, Any], *, lenient: bool,
                 extra: dict[tuple[str, int], Any] | None = None) -> None:
        self.name = name
        self.spec = spec
        self.lenient = lenient
        self.extra = extra or {}
        self.compiler = SchemaCompiler(spec, base_uri=f"urn:openapi-check:{name}")
        self._validators: dict[int, Any] = {}  # id(schema) -> validator; schemas live as long as self
        self._routes = sorted(
            ((_template_regex(path), path, item) for path, item in spec["paths"].items()),
            key=lambda r: -len(re.sub(r"\{[^}]*\}", "", r[1])),  # most literal first
        )
        self.operation_ids = {op["operationId"] for _m, _p, _i, op in iter_operations(spec)}

    def _match(self, path: str) -> tuple[str, dict[str, Any]] | None:
        for regex, template, item in self._routes:
            if regex.fullmatch(path):
                return template, item
        return None

    def _expectation(self, op: dict[str, Any], status: int) -> Any:
        key = (op["operationId"], status)
        if key in self.extra:
            return self.extra[key]
        if self.lenient and status == 400:
            return _MESSAGE_ONLY
        if self.lenient and status == 403 and is_secured(self.spec, op):
            return _SECURITY_ERROR
        responses = op.get("responses", {})
        resp = responses.get(str(status)) or responses.get(f"{status // 100}XX")
        resp = resp or responses.get("default")
        if resp is None:
            return None
        content = self.compiler.resolve(resp).get("content") or {}
        for media, media_obj in content.items():
            if media.split(";")[0].strip() == "application/json":
                return media_obj.get("schema", {})
        return TEXT if content else EMPTY

    def _validate(self, schema: Any, body: Any, where: str) -> None:
        validator = self._validators.get(id(schema))
        if validator is None:
            validator = self._validators[id(schema)] = self.compiler.validator(schema).validator
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            problems = list(dict.fromkeys(describe_error(e) for e in errors))
            lines = "\n  ".join(problems[:8])
            more = f"\n  ... and {len(problems) - 8} more" if len(problems) > 8 else ""
            raise AssertionError(
                f"{self.name} spec: body of {where} does not match:\n  {lines}{more}\n"
                f"body: {_short(body)}"
            )

    def _router_error(self, path: str, status: int, body: Any) -> None:
        """A router error: `{message}` is enough for upstream; ours also needs `code`."""
        schema = _MESSAGE_ONLY if self.lenient else _ERROR
        if isinstance(body, bytes):
            body = json.loads(body)
        self._validate(schema, body, f"router answer {status} for {path}")
        if "code" in body and body["code"] != status:
            raise AssertionError(f"router answer for {path}: error body has code {body['code']}, HTTP status is {status}")

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        """Raise AssertionError when the response does not fit the spec."""
        path = path.split("?", 1)[0]
        found = self._match(path)
        if found is None:
            if status == 404:
                self._router_error(path, status, body)  # router 404 for unknown URLs
                return
            raise AssertionError(f"{self.name} spec: no path template matches {path!r}")
        template, item = found
        op = item.get(method.lower())
        if op is None:
            if status == 405:
                self._router_error(path, status, body)  # router: wrong method
                return
            raise AssertionError(f"{self.name} spec: {template} has no {method.upper()} operation")
        where = f"{op['operationId']} ({method.upper()} {template}) -> {status}"
        expected = self._expectation(op, status)
        if expected is None:
            declared = ", ".join(sorted(op.get("responses", {})))
            raise AssertionError(
                f"{self.name} spec: status {status} is not declared for {where} "
                f"(declared: {declared}); body: {_short(body)}"
            )
        if expected == EMPTY:
            if not _is_empty(body):
                raise AssertionError(f"{self.name} spec: {where} must have no body; got {_short(body)}")
            return
        if expected == TEXT:
            if not isinstance(body, (str, bytes)) or _is_empty(body):
                raise AssertionError(f"{self.name} spec: {where} needs a text body; got {_short(body)}")
            return
        if _is_empty(body):
            raise AssertionError(f"{self.name} spec: {where} needs a JSON body; got none")
        if isinstance(body, bytes):
            body = json.loads(body)
        self._validate(expected, body, where)
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(code, int) and not isinstance(code, bool) and code != status:
            raise AssertionError(f"{where}: error body has code {code}, HTTP status is {status}")


UPSTREAM_MISSING_REASON = (
    f"upstream Flamenco's OpenAPI spec is not at {UPSTREAM_SPEC_PATH} (it is looked for in "
    f"../shared/reference/ beside this repository); comparisons with upstream are skipped"
)


def upstream_available() -> bool:
    """Whether upstream's spec is beside this repository (a bare clone does not have it)."""
    return UPSTREAM_SPEC_PATH.is_file()


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"OpenAPI spec not found at {path}")
    return yaml.safe_load(path.read_text("utf-8"))


@functools.cache
def upstream_spec() -> dict[str, Any]:
    """Upstream's spec as published (callers check `upstream_available()` first)."""
    return _load_yaml(UPSTREAM_SPEC_PATH)


@functools.cache
def upstream_checker() -> SpecChecker:
    """Checker for the upstream spec, with the documented real-vs-spec fixes."""
    spec = copy.deepcopy(upstream_spec())
    for fix in UPSTREAM_SCHEMA_FIXES.values():
        fix(spec["components"]["schemas"])
    return SpecChecker("upstream", spec, lenient=True, extra=UPSTREAM_EXTRA_RESPONSES)


@functools.cache
def own_checker() -> SpecChecker:
    """Checker for flamenco_pkg/api/openapi.yaml (strict)."""
    return SpecChecker("own", _load_yaml(OWN_SPEC_PATH), lenient=False)


def assert_matches_upstream(method: str, path: str, status: int, body: Any) -> None:
    """Assert a response fits the upstream Flamenco spec (allowing known real deviations)."""
    upstream_checker().check(method, path, status, body)


def assert_matches_own(method: str, path: str, status: int, body: Any) -> None:
    """Assert a response fits our own OpenAPI spec."""
    own_checker().check(method, path, status, body)


# Paths of the operations this Manager adds (issue 14, the `auth` tag): upstream has nothing to compare with.
OUR_PATH_PREFIXES = ("/api/v3/auth/", "/api/v3/audit")


def assert_matches_specs(method: str, path: str, status: int, body: Any) -> None:
    """Assert a response fits our spec, and upstream's too when it is beside this repository."""
    own_checker().check(method, path, status, body)
    if upstream_available() and not path.startswith(OUR_PATH_PREFIXES):
        upstream_checker().check(method, path, status, body)


def assert_matches_upstream_schema(schema_name: str, body: Any) -> None:
    """Assert a payload (e.g. a Socket.IO event) fits a named upstream component schema."""
    checker = upstream_checker()
    schema = checker.spec["components"]["schemas"][schema_name]
    checker._validate(schema, body, f"schema {schema_name}")


def assert_matches_schemas(schema_name: str, body: Any) -> None:
    """Assert a payload fits the named schema of our spec, and of upstream's when it is there."""
    checker = own_checker()
    checker._validate(checker.spec["components"]["schemas"][schema_name], body, f"schema {schema_name}")
    if upstream_available():
        assert_matches_upstream_schema(schema_name, body)
