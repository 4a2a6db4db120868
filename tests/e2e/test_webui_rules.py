"""The web UI's component tests (vitest), and its copy of the action rules.

The buttons a job or task offers are decided in the browser from
webapp/src/rules/actions.json; these must be the Manager's rules in
flamenco_pkg/manager/states.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flamenco_pkg.manager.state_machine import rules as states

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"
RULES = json.loads((WEBAPP / "src" / "rules" / "actions.json").read_text(encoding="utf-8"))


def as_lists(rules: dict) -> dict[str, list[str]]:
    return {action: sorted(str(s) for s in statuses) for action, statuses in rules.items()}


def test_job_actions_match_the_manager():
    assert as_lists(RULES["job_actions"]) == as_lists(states.JOB_ACTIONS)
    expected = {a: (None if s is None else str(s)) for a, s in states.JOB_ACTION_STATUS.items()}
    assert RULES["job_action_status"] == expected


def test_task_actions_match_the_manager():
    assert as_lists(RULES["task_actions"]) == as_lists(states.TASK_ACTIONS)
    assert RULES["task_action_status"] == {a: str(s) for a, s in states.TASK_ACTION_STATUS.items()}
    for job_status in RULES["task_cancel_blocked_by_job"]:
        assert not states.task_action_allowed("cancel", "queued", job_status)
    assert states.task_action_allowed("cancel", "queued", "active")


def test_worker_actions_match_the_manager():
    assert RULES["worker_actions"] == {a: str(s) for a, s in states.WORKER_ACTIONS.items()}


def test_vitest_component_tests_pass():
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the web UI's component tests")
    if not (WEBAPP / "node_modules").is_dir():
        pytest.fail("webapp/node_modules is missing; run `make webapp` (npm ci) first")
    result = subprocess.run([npm, "test", "--silent"], cwd=WEBAPP, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, CI="true", NO_COLOR="1"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " passed" in output and " failed" not in output, output


def test_role_rights_match_the_manager():
    """webapp/src/rules/roles.json: each role's rights are what the Manager's permission table allows."""
    from flamenco_pkg.manager.auth.permissions import OPERATIONS, Role, allows

    roles = json.loads((WEBAPP / "src" / "rules" / "roles.json").read_text(encoding="utf-8"))
    assert sorted(roles["roles"]) == sorted(r.value for r in Role)
    for role, rights in roles["roles"].items():
        assert set(rights) <= set(roles["rights"]), role
        for right, operation in roles["rights"].items():
            permission = OPERATIONS[operation].permission
            assert (right in rights) == allows(role, permission), (role, right, operation, permission)
