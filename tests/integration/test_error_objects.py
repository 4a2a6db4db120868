"""Every error path of every operation answers Flamenco's error object `{code, message}`, code = status.

The probes are derived from our spec, so a new operation is covered without
editing this file: for each operation a method its path does not declare
(405, with the path's own `Allow`), a request that breaks the spec (400:
a malformed ID, an unknown enum value, a non-integer, a body of the wrong
type or media type), an unknown object (404, where the operation declares
one) and, for Worker operations, missing credentials (403). Then the routes
outside the spec: unknown paths, `/job-files/`, the web app.

Three answers are deliberately not error objects, as upstream sends them
(see docs/api-deviations.md): `taskOutputProduced` 404 (a bare JSON
string), `scheduleTask` 423 (a WorkerStateChange) and `shamanFileStore` 425
(no body). The first two are probed here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from flamenco_pkg.api.spec import iter_operations, load_spec
from flamenco_pkg.api.validation import SchemaCompiler
from tests.integration.farm import Api, ManagerProcess, ScriptedWorker, wait_until

SPEC = load_spec()
COMPILER = SchemaCompiler(SPEC)
OPS = {op["operationId"]: (method.upper(), path, item, op) for method, path, item, op in iter_operations(SPEC)}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")

# Smallest valid bodies, so a request gets past validation to the "no such object" or credentials check.
VALID_BODIES: dict[str, Any] = {
    "signOn": {"name": "prober", "supported_task_types": ["misc"], "software_version": "3.9"},
    "workerStateChanged": {"status": "awake"},
    "taskUpdate": {},
    "requestWorkerStatusChange": {"status": "awake", "is_lazy": False},
    "setWorkerTags": {"tag_ids": []},
    "setWorkerSleepSchedule": {"is_active": False, "days_of_week": "", "start_time": "", "end_time": ""},
    "updateWorkerTag": {"name": "renamed"},
    "setJobStatus": {"status": "queued", "reason": "probe"},
    "setJobPriority": {"priority": 50},
    "setJobTag": {},
    "removeJobBlocklist": [{"worker_id": str(uuid.uuid4()), "task_type": "misc"}],
    "setTaskStatus": {"status": "queued", "reason": "probe"},
    "taskOutputProduced": PNG,
}
# The 404 an operation answers that is not an error object, as upstream sends it.
NOT_ERROR_OBJECTS = {("taskOutputProduced", 404): "Task does not exist"}


def _params(item: dict, op: dict) -> list[dict[str, Any]]:
    return [COMPILER.resolve(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]


def _schema(param: dict[str, Any]) -> dict[str, Any]:
    return COMPILER.inline(param.get("schema", {}))


def _json_body(op: dict) -> bool:
    return "application/json" in (op.get("requestBody") or {}).get("content", {})


def _binary_body(op: dict) -> str | None:
    media = [m for m in (op.get("requestBody") or {}).get("content", {}) if m != "application/json"]
    return media[0] if media else None


def _bad_value(schema: dict[str, Any]) -> str | None:
    """A path value that breaks the parameter's schema, or None if any string fits."""
    if schema.get("format") == "uuid":
        return "not-a-uuid"
    if "enum" in schema:
        return "no-such-value"
    if schema.get("type") == "integer":
        return "twelve"
    return None


def _probes() -> Iterator[tuple[str, str]]:
    for op_id, (_method, _path, item, op) in sorted(OPS.items()):
        yield op_id, "405"
        params = [p for p in _params(item, op) if p["in"] == "path"]
        if any(_bad_value(_schema(p)) for p in params) or _json_body(op) or _binary_body(op):
            yield op_id, "400"
        if "404" in op["responses"]:
            yield op_id, "404"
        if op.get("security"):
            yield op_id, "403"


PROBES = list(_probes())


class Farm:
    def __init__(self, manager: ManagerProcess) -> None:
        self.manager = manager
        self.worker = ScriptedWorker(manager.url, name="prober").start()
        self.api = Api(manager.url, auth=self.worker.api.auth)  # credentials on every call; ignored off the Worker API


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    manager = ManagerProcess(tmp_path_factory.mktemp("errors") / "manager",
                             extra_config="shaman:\n  enabled: true\n").start()
    try:
        yield Farm(manager)
    finally:
        manager.stop()


def _url(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _good_values(item: dict, op: dict) -> dict[str, str]:
    """Path values that fit the spec and name nothing that exists."""
    values = {}
    for p in _params(item, op):
        schema = _schema(p)
        if p["in"] != "path":
            continue
        if schema.get("format") == "uuid" or p["name"] in ("task_id",):
            values[p["name"]] = str(uuid.uuid4())
        elif "enum" in schema:
            values[p["name"]] = schema["enum"][0]
        elif schema.get("type") == "integer":
            values[p["name"]] = "12"
        elif p["name"] == "checksum":
            values[p["name"]] = "ab" * 32
        else:
            values[p["name"]] = "no-such-thing"
    return values


def _request(farm: Farm, op_id: str, kind: str) -> tuple[requests.Response, str]:
    method, path, item, op = OPS[op_id]
    values = _good_values(item, op)
    body: Any = VALID_BODIES.get(op_id, {} if _json_body(op) else None)
    headers: dict[str, str] = {}
    auth: Any = "default"
    if kind == "405":
        declared = {m.upper() for m in item if m in ("get", "put", "post", "delete", "patch", "options", "trace")}
        assert "PATCH" not in declared, f"{path} declares PATCH; pick another method for the probe"
        return farm.api.call("PATCH", _url(path, values)), method
    if kind == "400":
        for p in _params(item, op):
            bad = _bad_value(_schema(p)) if p["in"] == "path" else None
            if bad is not None:
                values[p["name"]] = bad
                break
        else:
            if _json_body(op):
                body, headers = b'"not the object this operation takes"', {"Content-Type": "application/json"}
            else:
                body, headers = b"plain text", {"Content-Type": "text/plain"}
    elif kind == "403":
        auth = ("00000000-0000-4000-8000-000000000000", "wrong")
    if isinstance(body, (bytes, bytearray)):
        media = _binary_body(op) or "application/json"
        headers.setdefault("Content-Type", media)
        return farm.api.call(method, _url(path, values), data=bytes(body), headers=headers, auth=auth), method
    return farm.api.call(method, _url(path, values), json=body, headers=headers or None, auth=auth), method


def assert_error_object(resp: requests.Response, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert set(body) == {"code", "message"}, body
    assert body["code"] == status, body
    assert isinstance(body["message"], str) and body["message"].strip(), body
    assert "Traceback" not in body["message"]


@pytest.mark.parametrize(("op_id", "kind"), PROBES, ids=[f"{o}-{k}" for o, k in PROBES])
def test_error_path_answers_the_error_object(farm: Farm, op_id: str, kind: str) -> None:
    resp, method = _request(farm, op_id, kind)
    status = int(kind)
    expected = NOT_ERROR_OBJECTS.get((op_id, status))
    if expected is not None:
        assert resp.status_code == status and resp.json() == expected, (resp.status_code, resp.text)
        return
    assert_error_object(resp, status)
    if status == 405:
        _m, path, item, _op = OPS[op_id]
        declared = sorted(m.upper() for m in item if m != "parameters")
        assert [m.strip() for m in resp.headers["Allow"].split(",")] == declared
    else:
        assert str(status) in OPS[op_id][3]["responses"], f"{op_id} answers {status} without declaring it"


def test_every_operation_has_an_error_probe() -> None:
    """Each operation is probed at least for 405; each with ID parameters also for 400."""
    probed = {op_id for op_id, _kind in PROBES}
    assert probed == set(OPS)
    for op_id, (_m, _p, item, op) in OPS.items():
        if any(p["in"] == "path" and _schema(p).get("format") == "uuid" for p in _params(item, op)):
            assert (op_id, "400") in PROBES, op_id
    needing_bodies = {op_id for op_id, kind in PROBES
                      if kind in ("403", "404") and OPS[op_id][3].get("requestBody") and op_id not in VALID_BODIES}
    assert not needing_bodies, f"add a valid body to VALID_BODIES for {sorted(needing_bodies)}"


def test_schedule_task_423_is_a_worker_state_change(farm: Farm) -> None:
    """The other deliberate exception: a pending status change is a WorkerStateChange, not an error."""
    other = ScriptedWorker(farm.manager.url, name="asked-to-sleep").start()
    resp = farm.api.post(f"/api/v3/worker-mgt/workers/{other.uuid}/setstatus",
                         json={"status": "asleep", "is_lazy": False})
    assert resp.status_code == 204, resp.text
    asked = other.ask_task()
    assert asked.status_code == 423 and asked.json() == {"status_requested": "asleep"}, asked.text


# ------------------------------------------------------------- outside the spec

@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v3/no-such-thing", 404),
    ("DELETE", "/no/such/page", 404),
    ("GET", "/job-files/job-abcd/nothing-here.txt", 404),
    ("GET", "/job-files/job-abcd/%252e%252e/x.txt", 400),
    ("PUT", "/job-files/job-abcd/x.txt", 405),
    ("GET", "/app/assets/no-such-file.js", 404),
    ("POST", "/app/", 405),
])
def test_routes_outside_the_spec_answer_the_error_object(farm: Farm, method: str, path: str, status: int) -> None:
    resp = requests.request(method, farm.manager.url + path, timeout=10)
    assert_error_object(resp, status)


def test_job_files_symlink_out_and_bad_range_answer_the_error_object(farm: Farm) -> None:
    storage: Path = farm.manager.storage
    (storage / "job-ab12").mkdir(parents=True, exist_ok=True)
    (storage / "job-ab12" / "log.txt").write_text("a few bytes\n", encoding="utf-8")
    outside = storage.parent / "outside.txt"
    outside.write_text("not for the web\n", encoding="utf-8")
    link = storage / "job-ab12" / "escape.txt"
    if not link.exists():
        link.symlink_to(outside)
    url = farm.manager.url + "/job-files/job-ab12/"
    assert requests.get(url + "log.txt", timeout=10).text == "a few bytes\n"
    assert_error_object(requests.get(url + "escape.txt", timeout=10), 403)
    assert_error_object(requests.get(url + "log.txt", headers={"Range": "bytes=500-600"}, timeout=10), 416)

