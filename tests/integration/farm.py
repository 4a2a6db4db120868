"""Test harness: a real Manager process over loopback, and scripted workers.

Every JSON answer that passes through `Api` is checked against our spec and upstream
Flamenco's (when it is beside the repository), so the integration tests also guard the wire format.
"""

from __future__ import annotations

import os
import random
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


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free loopback TCP port below the kernel's ephemeral range.

    bind(0) hands out ports from the range outgoing connections also draw from; with
    tests running in parallel a client socket can take the port before the server binds it.
    """
    floor = _ephemeral_floor()
    rng = random.SystemRandom()
    for _ in range(100):
        port = rng.randrange(20000, floor) if floor > 21000 else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise AssertionError("no free loopback port found")


def process_ended(pid: int) -> bool:
    """Whether the process is gone or a zombie (ended, waiting for its parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


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
    _log_offset: int = field(default=0, repr=False)  # where this start's part of manager.log begins

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

    def command(self) -> list[str]:
        return [sys.executable, str(REPO / "flamenco.py"), "manager"]

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(REPO))

    def start(self, deadline_s: float = 60) -> "ManagerProcess":
        """Start and wait until this very process answers; a failed start leaves no process behind.

        When the port was taken between picking and binding (another test's server or a client
        socket), the Manager says so and exits; with a config of our own making it gets another port.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        own_config = not (self.workdir / "flamenco-manager.yaml").exists()
        for attempt in range(3):
            if own_config:
                self.write_config()
            log_path = self.workdir / "manager.log"
            self._log_offset = log_path.stat().st_size if log_path.exists() else 0
            with open(log_path, "ab") as log:
                self.proc = subprocess.Popen([*self.command(), "-debug", "-scripts", str(self.scripts)],
                                             cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=self.env())
            try:
                wait_until(self._up, deadline_s=deadline_s, what=f"the Manager on port {self.port} (log: {log_path})")
                return self
            except BaseException as exc:
                if self.proc is not None and self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
                self.proc = None
                lost_port = isinstance(exc, AssertionError) and "cannot listen on" in str(exc)
                if not (own_config and lost_port and attempt < 2):
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _up(self) -> bool:
        """True once our process logged that it listens on our port and answers there."""
        if self.proc and self.proc.poll() is not None:
            raise AssertionError(f"the Manager exited with {self.proc.returncode}:\n{self.log_text()}")
        with open(self.workdir / "manager.log", "rb") as log:
            log.seek(self._log_offset)
            if f":{self.port}/ (database".encode() not in log.read():
                return False  # anything answering on the port now is not this Manager (yet)
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
