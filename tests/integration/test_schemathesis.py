"""Schemathesis against our own spec: no server error and no answer that breaks the spec.

Each run starts a fresh Manager (Shaman on) with a little farm in it (an
authenticated Worker whose credentials Schemathesis uses, a second Worker
to delete, a job with tasks, a worker tag), so the generated requests reach
real objects as well as missing ones. Schemathesis also reuses IDs it sees
in responses.

Two runs, because two operations change the configuration under the others'
feet: `updateConfigurationFile` and `saveSetupAssistantConfig` can move or
clear the shared storage, after which every Shaman call is a (documented)
503, which Schemathesis counts as a server error. They run in the second
run, with the other `meta` operations only.

Checks: all, except
- `missing_required_header`: it wants 401 without credentials; the Worker
  API answers 403 as upstream does (Workers re-register on it).
- `positive_data_acceptance`: it wants 2xx for every schema-valid request;
  rules beyond the schema (an existing tag, a job type's settings, an empty
  blocklist) answer documented 4xx.

Bounded: at most `FLAMENCO_FUZZ_EXAMPLES` (default 10) examples per
operation in the fuzzing phase, plus the coverage phase; about a minute per
run on two cores. The seed is fixed (`FLAMENCO_FUZZ_SEED`, default 1) so a
failure repeats; the reproduction command is in the output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.farm import REPO, ManagerProcess, ScriptedWorker

SPEC = REPO / "flamenco_pkg" / "api" / "openapi.yaml"
EXAMPLES = os.environ.get("FLAMENCO_FUZZ_EXAMPLES", "10")
SEED = os.environ.get("FLAMENCO_FUZZ_SEED", "1")
CONFIG_CHANGERS = ("updateConfigurationFile", "saveSetupAssistantConfig")
EXCLUDED_CHECKS = "missing_required_header,positive_data_acceptance"
RUN_TIMEOUT_S = 600


def _schemathesis() -> list[str]:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("schemathesis is not installed (it is a dev dependency: pip install -e '.[dev]')")
    return [exe]


def _farm(manager: ManagerProcess) -> dict[str, str]:
    """Objects for the generated requests to find; returns their IDs."""
    api = manager.api()
    fuzz = ScriptedWorker(manager.url, name="fuzz").start()
    victim = ScriptedWorker(manager.url, name="victim").start()
    tag = api.post("/api/v3/worker-mgt/tags", json={"name": "fuzz-tag"}).json()
    job = api.post("/api/v3/jobs", json={
        "name": "fuzz job", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "fuzz", "sleep_repeats": 1}}).json()
    task = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"][0]
    return {"fuzz_uuid": fuzz.uuid, "fuzz_secret": fuzz.secret, "victim": victim.uuid,
            "tag": tag["id"], "job": job["id"], "task": task["id"]}


def _config(path: Path, ids: dict[str, str]) -> Path:
    """IDs of real objects, offered for half the generated path parameters; deletes only hit the victim."""
    path.write_text(f"""
[dictionaries.jobs]
values = ["{ids['job']}", "{uuid.uuid4()}"]
[dictionaries.tasks]
values = ["{ids['task']}"]
[dictionaries.workers]
values = ["{ids['victim']}"]
[dictionaries.tags]
values = ["{ids['tag']}"]
[dictionaries.job_types]
values = ["echo-sleep-test", "simple-blender-render"]

[parameters]
"path.job_id" = {{ dictionary = "jobs", probability = 0.5 }}
"path.task_id" = {{ dictionary = "tasks", probability = 0.5 }}
"path.worker_id" = {{ dictionary = "workers", probability = 0.5 }}
"path.tag_id" = {{ dictionary = "tags", probability = 0.5 }}
"path.typeName" = {{ dictionary = "job_types", probability = 0.5 }}

# The fuzzing Worker must stay registered, or every Worker call is a 403.
[[operations]]
include-operation-id = "deleteWorker"
parameters = {{ worker_id = "{ids['victim']}" }}

# An image upload without a body is a 411, as upstream answers it.
[[operations]]
include-operation-id = "taskOutputProduced"
checks.negative_data_rejection.expected-statuses = [400, 403, 404, 411, 413]
""", encoding="utf-8")
    return path


def _run(tmp_path: Path, name: str, *selection: str) -> None:
    command = _schemathesis()
    manager = ManagerProcess(tmp_path / name, extra_config="shaman:\n  enabled: true\n").start()
    try:
        ids = _farm(manager)
        config = _config(tmp_path / f"{name}.toml", ids)
        args = [*command, "--no-color", "--config-file", str(config), "run", str(SPEC), "--url", manager.url,
                "--auth", f"{ids['fuzz_uuid']}:{ids['fuzz_secret']}",
                "--phases", "coverage,fuzzing", "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
                "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "2",
                "--request-timeout", "30", "--output-truncate", "false", *selection]
        done = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=tmp_path)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            tail = manager.log_text()[-4000:]
            pytest.fail(f"schemathesis ({name}) found problems:\n{output}\n--- Manager log (end) ---\n{tail}")
        assert "Tested:" in output, output
        assert "Traceback" not in manager.log_text(), manager.log_text()[-4000:]
    finally:
        manager.stop()


def test_schemathesis_everything_but_configuration_changes(tmp_path: Path) -> None:
    _run(tmp_path, "api", *[arg for op_id in CONFIG_CHANGERS for arg in ("--exclude-operation-id", op_id)])


def test_schemathesis_meta_with_configuration_changes(tmp_path: Path) -> None:
    _run(tmp_path, "meta", "--include-tag", "meta")
