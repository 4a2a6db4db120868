"""The built zipapps run from an empty folder with a fresh HOME."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.integration.farm import REPO, free_port, wait_until

MANAGER_PYZ = REPO / "flamenco-manager.pyz"
WORKER_PYZ = REPO / "flamenco-worker.pyz"

pytestmark = pytest.mark.skipif(not MANAGER_PYZ.exists(), reason="run `make` first (make test does)")


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_manager_zipapp_from_empty_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "farm"
    folder.mkdir()
    shutil.copy(MANAGER_PYZ, folder)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}

    helped = run(["flamenco-manager.pyz", "-help"], folder, env)
    assert helped.returncode == 0, helped.stderr
    for flag in ("-version", "-quiet", "-debug", "-write-config"):
        assert flag in helped.stdout

    assert run(["flamenco-manager.pyz", "-version"], folder, env).stdout.startswith("Flamenco Manager ")

    written = run(["flamenco-manager.pyz", "-write-config"], folder, env)
    assert written.returncode == 0, written.stderr
    config = (folder / "flamenco-manager.yaml").read_text()
    assert "task_timeout" in config and "listen" in config
    port = free_port()
    config = re.sub(r"(?m)^listen:.*$", f"listen: 127.0.0.1:{port}", config)
    config = re.sub(r"(?m)^autodiscoverable:.*$", "autodiscoverable: false", config)
    (folder / "flamenco-manager.yaml").write_text(config)

    proc = subprocess.Popen([sys.executable, "flamenco-manager.pyz"], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def version():
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode())
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/v3/version", timeout=1)
            except requests.ConnectionError:
                return None
        resp = wait_until(version, deadline_s=60, what="the zipapp Manager")
        assert resp.json()["name"] == "Flamenco"
        assert (folder / "flamenco-manager.sqlite").exists()

        # Job types run in worker processes, which import the package from the zipapp too.
        base = f"http://127.0.0.1:{port}/api/v3"
        types = requests.get(f"{base}/jobs/types", timeout=60).json()["job_types"]
        assert [t["name"] for t in types] == ["echo-sleep-test", "simple-blender-render"]
        job = requests.post(f"{base}/jobs", timeout=60, json={
            "name": "from the zipapp", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "type_etag": types[0]["etag"], "settings": {"message": "hi", "sleep_repeats": 2}})
        assert job.status_code == 200, job.text
        tasks = requests.get(f"{base}/jobs/{job.json()['id']}/tasks", timeout=10).json()["tasks"]
        assert [t["name"] for t in tasks] == ["echo", "sleep", "sleep"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_worker_zipapp_help(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    helped = run([str(WORKER_PYZ), "-help"], tmp_path, env)
    assert helped.returncode == 0
    assert "-version" in helped.stdout


def test_bad_config_is_a_clear_error(tmp_path):
    (tmp_path / "flamenco-manager.yaml").write_text("_meta:\n  version: 3\ntask_timeout: ten minutes\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = run([str(REPO / "flamenco.py"), "manager"], tmp_path, env, timeout=30)
    assert result.returncode == 1
    assert "task_timeout" in result.stderr
    assert "Traceback" not in result.stderr
