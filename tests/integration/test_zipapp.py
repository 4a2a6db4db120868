"""The built zipapps run from an empty folder with a fresh HOME."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from flamenco_pkg import __version__
from tests.integration.farm import REPO, ScriptedWorker, free_port, wait_until

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
        # So does the task-log writer process: a hand-out's lines reach the task's log.
        worker = ScriptedWorker(f"http://127.0.0.1:{port}", name="zipapp-worker").start()
        task = worker.ask_task().json()
        tail = requests.get(f"{base}/tasks/{task['uuid']}/logtail", timeout=10)
        assert "task assigned to worker zipapp-worker" in tail.text, tail.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_worker_zipapp_help_from_empty_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "render"
    folder.mkdir()
    shutil.copy(WORKER_PYZ, folder)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    helped = run(["flamenco-worker.pyz", "-help"], folder, env)
    assert helped.returncode == 0, helped.stderr
    for flag in ("-version", "-manager"):
        assert flag in helped.stdout
    assert run(["flamenco-worker.pyz", "-version"], folder, env).stdout.strip() == __version__
    assert sorted(p.name for p in folder.iterdir()) == ["flamenco-worker.pyz"], "-help writes nothing"


# Run inside the zipapp (shiv's SHIV_INTERPRETER): import every module of
# flamenco_pkg it carries, and say where the third-party ones came from.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
import flamenco_pkg
names, failed = [], {}
for info in pkgutil.walk_packages(flamenco_pkg.__path__, "flamenco_pkg."):
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except BaseException as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
files = {name: getattr(mod, "__file__", None) or "" for name, mod in sys.modules.items()}
print(json.dumps({"modules": names, "failed": failed, "files": files, "path": sys.path}))
"""


def import_everything(pyz: Path, tmp_path: Path) -> dict:
    """Import every flamenco_pkg module of a zipapp in a clean interpreter.

    -I -S: no environment variables, no user or system site-packages, so only
    the zipapp's own (extracted under a fresh HOME) can satisfy an import.
    """
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8", "SHIV_INTERPRETER": "1"}
    result = subprocess.run([sys.executable, "-I", "-S", str(pyz), "-c", IMPORT_ALL], cwd=home, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("pyz, must_have", [
    (MANAGER_PYZ, "flamenco_pkg.manager.app"),
    (WORKER_PYZ, "flamenco_pkg.worker.cli"),
])
def test_every_module_of_the_zipapp_imports_from_a_clean_interpreter(pyz, must_have, tmp_path):
    found = import_everything(pyz, tmp_path)
    assert must_have in found["modules"]
    assert not found["failed"], found["failed"]
    home = str(tmp_path / "home")
    site = [p for p in found["path"] if "site-packages" in p or "dist-packages" in p]
    assert site and all(p.startswith(home) for p in site), site
    third_party = {n: f for n, f in found["files"].items()
                   if f and "site-packages" in f and not n.startswith("flamenco_pkg")}
    assert third_party and all(f.startswith(home) for f in third_party.values())


def test_worker_zipapp_carries_only_what_the_worker_imports(tmp_path):
    found = import_everything(WORKER_PYZ, tmp_path)
    assert all(n == "flamenco_pkg" or n.split(".")[1] in ("worker", "discovery", "logsetup")
               for n in found["modules"]), found["modules"]
    roots = {n.split(".")[0] for n in found["files"]}
    assert {"requests", "yaml"} <= roots
    assert not roots & {"gevent", "bottle", "socketio", "engineio", "quickjs", "bcrypt", "jsonschema"}
    with zipfile.ZipFile(WORKER_PYZ) as zf:
        tops = {name.split("/")[1] for name in zf.namelist() if name.startswith("site-packages/")}
        ours = {name.split("/")[2] for name in zf.namelist() if name.startswith("site-packages/flamenco_pkg/")}
    for heavy in ("gevent", "bottle.py", "quickjs", "bcrypt", "jsonschema", "socketio", "greenlet"):
        assert heavy not in tops, f"{heavy} is in the Worker zipapp"
    assert "PIL" in tops, "the Worker shrinks previews with Pillow before upload"
    assert ours == {"__init__.py", "discovery.py", "logsetup.py", "worker"}, ours
    assert WORKER_PYZ.stat().st_size < MANAGER_PYZ.stat().st_size * 0.7


def test_bad_config_is_a_clear_error(tmp_path):
    (tmp_path / "flamenco-manager.yaml").write_text("_meta:\n  version: 3\ntask_timeout: ten minutes\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = run([str(REPO / "flamenco.py"), "manager"], tmp_path, env, timeout=30)
    assert result.returncode == 1
    assert "task_timeout" in result.stderr
    assert "Traceback" not in result.stderr
