"""RequestValidator: what gets a 400 and what passes, with readable messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flamenco_pkg.api.spec import load_spec, route_table
from flamenco_pkg.api.validation import RequestInvalid, RequestValidator, ValidRequest

UUID = "1f7e2a3c-0b4d-4e5f-8a9b-0c1d2e3f4a5b"
JSON = "application/json"


@pytest.fixture(scope="module")
def validator() -> RequestValidator:
    return RequestValidator(load_spec())


def call(v: RequestValidator, op: str, body: Any = None, *, path: dict | None = None,
         query: dict | None = None, headers: dict | None = None,
         content_type: str | None = JSON) -> ValidRequest:
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return v.validate(op, path=path or {}, query=query or {}, headers=headers or {},
                      content_type=content_type, body=raw or b"")


def rejected(v: RequestValidator, op: str, body: Any = None, **kw: Any) -> str:
    with pytest.raises(RequestInvalid) as info:
        call(v, op, body, **kw)
    assert info.value.message == str(info.value)
    return info.value.message


SUBMITTED_JOB = {
    "name": "Spring", "type": "simple-blender-render", "priority": 50,
    "submitter_platform": "linux",
    "settings": {"frames": "1-10", "chunk_size": 3, "fps": 24.5},
    "metadata": {"user.name": "Ada", "project": "Spring"},
    "storage": {"shaman_checkout_id": "spring/shot-1"},
}


# --------------------------------------------------------------- accepted

def test_every_operation_has_rules(validator: RequestValidator) -> None:
    assert validator.operation_ids == {r.operation_id for r in route_table()}


def test_typical_task_update(validator: RequestValidator) -> None:
    body = {"taskStatus": "active", "activity": "Rendering", "log": "frame 1\n", "steps_completed": 2}
    req = call(validator, "taskUpdate", body, path={"task_id": UUID})
    assert req == ValidRequest(path={"task_id": UUID}, query={}, body=body, headers={})


def test_task_update_hot_path_micro_check(validator: RequestValidator) -> None:
    raw = json.dumps({"activity": "Progress", "steps_completed": 7}).encode()
    for _ in range(500):
        req = validator.validate("taskUpdate", path={"task_id": UUID}, query={}, headers={},
                                 content_type="application/json; charset=utf-8", body=raw)
    assert req.body["steps_completed"] == 7


def test_submit_job_with_extra_properties(validator: RequestValidator) -> None:
    body = {**SUBMITTED_JOB, "unexpected": {"extra": True}}
    assert call(validator, "submitJob", body).body == body


def test_integral_float_counts_as_integer(validator: RequestValidator) -> None:
    req = call(validator, "setJobPriority", b'{"priority": 24.0}', path={"job_id": UUID})
    assert req.body == {"priority": 24} and isinstance(req.body["priority"], int)
    settings = call(validator, "submitJob", SUBMITTED_JOB).body["settings"]
    assert settings["fps"] == 24.5


def test_uppercase_uuid_is_accepted(validator: RequestValidator) -> None:
    call(validator, "fetchJob", path={"job_id": UUID.upper()})


def test_unchecked_task_ids(validator: RequestValidator) -> None:
    """setTaskStatus and output-produced look IDs up without a syntax check (404 later)."""
    call(validator, "setTaskStatus", {"status": "queued", "reason": "x"}, path={"task_id": "nope"})
    call(validator, "taskOutputProduced", b"\x89PNG", path={"task_id": "nope"}, content_type="image/png")


def test_binary_bodies(validator: RequestValidator) -> None:
    req = call(validator, "shamanFileStore", b"\x00\x01", path={"checksum": "ab", "filesize": "2"},
               headers={"x-shaman-can-defer-upload": "true", "X-Shaman-Original-Filename": "a.blend"},
               content_type="application/octet-stream")
    assert req.body == b"\x00\x01"
    assert req.path == {"checksum": "ab", "filesize": "2"}
    assert req.headers == {"X-Shaman-Can-Defer-Upload": True, "X-Shaman-Original-Filename": "a.blend"}
    # Empty image: passed through so the handler can answer 411.
    req = call(validator, "taskOutputProduced", b"", path={"task_id": UUID}, content_type=None)
    assert req.body == b""


def test_optional_and_absent_bodies(validator: RequestValidator) -> None:
    assert call(validator, "checkSharedStoragePath", None, content_type=None).body is None
    assert call(validator, "signOff", b"ignored", content_type="text/plain").body is None


def test_path_enum_and_misc_good(validator: RequestValidator) -> None:
    call(validator, "getVariables", path={"audience": "users", "platform": "linux"})
    call(validator, "deleteJobMass", {"last_updated_max": "2025-03-01T12:00:03.1234Z"})
    call(validator, "setWorkerSleepSchedule",
         {"is_active": True, "days_of_week": "mo tu", "start_time": "9:00", "end_time": "24:00"},
         path={"worker_id": UUID})
    call(validator, "setWorkerSleepSchedule",
         {"is_active": False, "days_of_week": "", "start_time": "", "end_time": ""},
         path={"worker_id": UUID})
    call(validator, "removeJobBlocklist", [{"worker_id": UUID, "task_type": "blender"}],
         path={"job_id": UUID})


# --------------------------------------------------------------- rejected

def test_bad_uuid_in_path(validator: RequestValidator) -> None:
    msg = rejected(validator, "taskUpdate", {}, path={"task_id": "1234"})
    assert msg.startswith('parameter "task_id" in path has an error: must be a valid UUID')
    rejected(validator, "fetchJob", path={"job_id": UUID + "0"})
    rejected(validator, "fetchWorker", path={"worker_id": "{" + UUID + "}"})


def test_missing_required_property(validator: RequestValidator) -> None:
    msg = rejected(validator, "setJobPriority", {}, path={"job_id": UUID})
    assert msg == 'request body has an error: property "priority" is missing'
    msg = rejected(validator, "submitJob", {"name": "x", "priority": 1})
    assert msg == 'request body has an error: properties "type", "submitter_platform" are missing'


@pytest.mark.parametrize("priority, reason", [
    (101, "must be at most 100"),
    (-1, "must be at least 0"),
    (1.5, "must be an integer"),
    (True, "must be an integer"),
    ("50", "must be an integer"),
])
def test_priority_range_and_type(validator: RequestValidator, priority: Any, reason: str) -> None:
    msg = rejected(validator, "setJobPriority", {"priority": priority}, path={"job_id": UUID})
    assert msg.startswith(f'request body has an error: property "priority": {reason}')
    msg = rejected(validator, "submitJob", {**SUBMITTED_JOB, "priority": priority})
    assert msg.startswith(f'request body has an error: property "priority": {reason}')


def test_wrong_or_missing_content_type(validator: RequestValidator) -> None:
    msg = rejected(validator, "setJobPriority", {"priority": 5}, path={"job_id": UUID},
                   content_type="text/plain")
    assert "Content-Type" in msg and "text/plain" in msg
    assert "Content-Type is missing" in rejected(
        validator, "setJobPriority", {"priority": 5}, path={"job_id": UUID}, content_type=None)
    rejected(validator, "taskOutputProduced", b"GIF89a", path={"task_id": UUID},
             content_type="image/gif")
    rejected(validator, "shamanFileStore", b"x", path={"checksum": "a", "filesize": "1"},
             content_type=JSON)


@pytest.mark.parametrize("raw", [b"{", b"{'priority': 1}", b'{"priority": NaN}', b"\xff\xfe\x00"])
def test_malformed_json(validator: RequestValidator, raw: bytes) -> None:
    msg = rejected(validator, "setJobPriority", raw, path={"job_id": UUID})
    assert msg.startswith("request body has an error: invalid JSON")


def test_required_body_missing(validator: RequestValidator) -> None:
    msg = rejected(validator, "submitJob", None, content_type=None)
    assert msg == "request body has an error: value is required but missing"


def test_enum_violations(validator: RequestValidator) -> None:
    msg = rejected(validator, "taskUpdate", {"taskStatus": "done"}, path={"task_id": UUID})
    assert msg.startswith('request body has an error: property "taskStatus": must be one of "active"')
    assert msg.endswith('got "done"')
    rejected(validator, "workerStateChanged", {"status": "sleepy"})
    rejected(validator, "requestWorkerStatusChange", {"status": "awake", "is_lazy": "no"},
             path={"worker_id": UUID})
    msg = rejected(validator, "getSharedStorage", path={"audience": "admins", "platform": "linux"})
    assert msg.startswith('parameter "audience" in path has an error: must be one of "workers", "users"')


def test_metadata_values_must_be_strings(validator: RequestValidator) -> None:
    body = {**SUBMITTED_JOB, "metadata": {"user.name": "Ada", "frames": 12}}
    msg = rejected(validator, "submitJob", body)
    assert msg == ('request body has an error: property "metadata.frames": '
                   "must be a string; got 12")
    body = {**SUBMITTED_JOB, "metadata": {"user.name": None}}
    assert "metadata['user.name']" in rejected(validator, "submitJob", body)


def test_nested_paths_are_named(validator: RequestValidator) -> None:
    body = {"files": [{"sha": "a", "size": 1, "path": "x"}, {"sha": "b", "size": "big", "path": "y"}]}
    msg = rejected(validator, "shamanCheckoutRequirements", body)
    assert msg.startswith('request body has an error: property "files[1].size": must be an integer')
    msg = rejected(validator, "removeJobBlocklist", [{"worker_id": UUID}], path={"job_id": UUID})
    assert msg == 'request body has an error: property "[0].task_type" is missing'


def test_integer_and_boolean_parameters(validator: RequestValidator) -> None:
    msg = rejected(validator, "shamanFileStoreCheck", path={"checksum": "a", "filesize": "12kB"})
    assert msg.startswith('parameter "filesize" in path has an error: must be an integer')
    msg = rejected(validator, "shamanFileStore", b"x", path={"checksum": "a", "filesize": "1"},
                   headers={"X-Shaman-Can-Defer-Upload": "perhaps"},
                   content_type="application/octet-stream")
    assert 'parameter "X-Shaman-Can-Defer-Upload" in header' in msg


@pytest.mark.parametrize("time", ["25:00", "12:60", "noon", "12:00:00", "24:01"])
def test_sleep_schedule_times(validator: RequestValidator, time: str) -> None:
    body = {"is_active": True, "days_of_week": "", "start_time": time, "end_time": ""}
    msg = rejected(validator, "setWorkerSleepSchedule", body, path={"worker_id": UUID})
    assert 'property "start_time": must match the pattern' in msg


def test_date_time_format(validator: RequestValidator) -> None:
    for value in ["yesterday", "2025-13-01T00:00:00Z", "2025-03-01 12:00:00"]:
        msg = rejected(validator, "deleteJobMass", {"last_updated_max": value})
        assert "RFC 3339" in msg


def test_wrong_top_level_type(validator: RequestValidator) -> None:
    msg = rejected(validator, "setWorkerTags", ["a"], path={"worker_id": UUID})
    assert msg == 'request body has an error: must be an object; got ["a"]'


def test_unknown_operation(validator: RequestValidator) -> None:
    with pytest.raises(KeyError):
        call(validator, "noSuchOperation")
