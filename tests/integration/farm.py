"""Test harness: a real Manager process over loopback, and scripted workers.

Every JSON answer that passes through `Api` is checked against our spec and upstream
Flamenco's (when it is beside the repository), so the integration tests also guard the wire format.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.openapi_check import assert_matches_specs

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, deadline_s: float = 10.0, interval_s: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy, or fail after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(interval_s)


class Api:
    """requests over loopback; checks each JSON body against our spec (and upstream's when present)."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.auth = auth

    def call(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
             headers: dict[str, str] | None = None, auth: Any = "default", check: bool = True) -> requests.Response:
        resp = self.session.request(method, self.base_url + path, json=json, data=data, headers=headers,
                                    auth=self.auth if auth == "default" else auth, timeout=30)
        if check and resp.headers.get("Content-Type", "").startswith("application/json") and path.startswith("/api/v3/"):
            assert_matches_specs(method, path, resp.status_code, resp.json())
        return resp

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.call("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.call("PUT", path, json=json, **kw)

    def delete(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, json=json, **kw)


@dataclass
class ManagerProcess:
    """A Manager started from the source tree in its own folder."""

    workdir: Path
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "flamenco-manager.sqlite"

    @property
    def scripts(self) -> Path:
        return self.workdir / "scripts"

    @property
    def storage(self) -> Path:
        return self.workdir / "storage"

    def write_config(self) -> None:
        shared = self.workdir / "shared"
        shared.mkdir(parents=True, exist_ok=True)
        (self.workdir / "flamenco-manager.yaml").write_text(
            "_meta:\n  version: 3\n"
            f"listen: '127.0.0.1:{self.port}'\n"
            f"shared_storage_path: {shared}\n"
            f"local_manager_storage_path: {self.storage}\n"
            "autodiscoverable: false\n"
            + self.extra_config, encoding="utf-8")

    def start(self, deadline_s: float = 20) -> "ManagerProcess":
        """`deadline_s`: longer for big databases, whose start-up integrity check reads every row."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not (self.workdir / "flamenco-manager.yaml").exists():
            self.write_config()
        log = open(self.workdir / "manager.log", "ab")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen([sys.executable, str(REPO / "flamenco.py"), "manager", "-debug",
                                      "-scripts", str(self.scripts)],
                                     cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_until(self._up, deadline_s=deadline_s,
                   what=f"the Manager on port {self.port} (log: {self.workdir}/manager.log)")
        return self

    def _up(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise AssertionError(f"the Manager exited with {self.proc.returncode}:\n{self.log_text()}")
        try:
            return requests.get(self.url + "/api/v3/version", timeout=1).ok
        except (requests.ConnectionError, requests.Timeout):  # a slow first answer on a busy machine: not up yet
            return False

    def log_text(self) -> str:
        path = self.workdir / "manager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def api(self) -> Api:
        return Api(self.url)


class ScriptedWorker:
    """A worker driven step by step by a test, speaking the worker protocol."""

    def __init__(self, url: str, name: str = "scripted", task_types: list[str] | None = None,
                 platform: str = "linux") -> None:
        self.url = url
        self.name = name
        self.task_types = task_types or ["blender", "ffmpeg", "file-management", "misc"]
        self.platform = platform
        self.secret = secrets.token_hex(32)
        self.uuid = ""
        self.api = Api(url)

    def register(self) -> dict[str, Any]:
        resp = self.api.post("/api/v3/worker/register-worker", json={
            "secret": self.secret, "platform": self.platform, "name": self.name,
            "supported_task_types": self.task_types})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        self.uuid = body["uuid"]
        self.api.auth = (self.uuid, self.secret)
        return body

    def sign_on(self) -> str:
        resp = self.api.post("/api/v3/worker/sign-on", json={
            "name": self.name, "supported_task_types": self.task_types, "software_version": "3.9-test"})
        assert resp.status_code == 200, resp.text
        return resp.json()["status_requested"]

    def state_changed(self, status: str) -> None:
        resp = self.api.post("/api/v3/worker/state-changed", json={"status": status})
        assert resp.status_code == 204, resp.text

    def start(self) -> "ScriptedWorker":
        self.register()
        self.state_changed(self.sign_on())
        return self

    def ask_task(self) -> requests.Response:
        return self.api.post("/api/v3/worker/task")

    def update(self, task_id: str, **body: Any) -> requests.Response:
        return self.api.post(f"/api/v3/worker/task/{task_id}", json=body)

    def may_i_run(self, task_id: str) -> dict[str, Any]:
        resp = self.api.get(f"/api/v3/worker/task/{task_id}/may-i-run")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def sign_off(self) -> None:
        resp = self.api.post("/api/v3/worker/sign-off")
        assert resp.status_code == 204, resp.text
