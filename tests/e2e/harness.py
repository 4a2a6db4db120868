"""Real Worker (and Manager) processes for end-to-end tests.

The built zipapps are used when they are newer than every source file (as
after `make`); otherwise the source tree runs through `flamenco.py`, so a
stale zipapp never tests old code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.integration.farm import REPO, ManagerProcess, wait_until

PYZ_DIR = Path(os.environ.get("FLAMENCO_PYZ_DIR", str(REPO)))  # where `make` puts the zipapps
MANAGER_PYZ = PYZ_DIR / "flamenco-manager.pyz"
WORKER_PYZ = PYZ_DIR / "flamenco-worker.pyz"


def _newest_source_mtime() -> float:
    newest = 0.0
    for path in (REPO / "flamenco_pkg").rglob("*"):
        if {"__pycache__", "webapp_dist", "addon_dist"} & set(path.parts) or not path.is_file():
            continue
        newest = max(newest, path.stat().st_mtime)
    return newest


def zipapp_is_fresh(pyz: Path) -> bool:
    return pyz.exists() and pyz.stat().st_mtime >= _newest_source_mtime()


def program(role: str) -> list[str]:
    """How to start the Manager or Worker: the zipapp when fresh, else the source tree."""
    pyz = MANAGER_PYZ if role == "manager" else WORKER_PYZ
    if zipapp_is_fresh(pyz):
        return [sys.executable, str(pyz)]
    return [sys.executable, str(REPO / "flamenco.py"), role]


@dataclass
class E2EManager(ManagerProcess):
    """A Manager from the zipapp (when fresh), in its own folder."""

    env_extra: dict[str, str] = field(default_factory=dict)

    def command(self) -> list[str]:
        return program("manager")

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(REPO), **self.env_extra)


@dataclass
class WorkerProcess:
    """A real Worker process with its own working folder and Flamenco home."""

    workdir: Path
    manager_url: str | None
    name: str = "e2e-worker"
    args: list[str] = field(default_factory=list)
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def home(self) -> Path:
        return self.workdir / "home"

    @property
    def log_path(self) -> Path:
        return self.workdir / "worker.log"

    def command(self, *extra: str) -> list[str]:
        url = ["-manager", self.manager_url] if self.manager_url else []
        return [*program("worker"), *url, "-debug", *self.args, *extra]

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(REPO), FLAMENCO_HOME=str(self.home),
                    FLAMENCO_WORKER_NAME=self.name, **self.env_extra)

    def start(self, *extra: str) -> "WorkerProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(*extra), cwd=self.workdir, env=self.env(), stdout=log,
                                     stderr=subprocess.STDOUT)
        return self

    def run(self, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run to completion (for -flush, -find-manager ...)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        return subprocess.run(self.command(*extra), cwd=self.workdir, env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of live processes whose command line contains `text`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not raw:
            continue  # zombies hold nothing; their parent will reap them
        cmdline = raw.replace(b"\0", b" ").decode(errors="replace")
        if text in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def job_status(api, job_id: str) -> str:
    return api.get(f"/api/v3/jobs/{job_id}").json()["status"]


def wait_for_job(api, job_id: str, status: str, deadline_s: float, logs: list) -> None:
    """Wait for a job status; on timeout or failure show the logs that tell why."""

    def reached() -> bool:
        current = job_status(api, job_id)
        if current in ("failed", "canceled") and current != status:
            raise AssertionError(f"job {job_id} is {current}\n" + "\n".join(x.log_text()[-6000:] for x in logs))
        return current == status

    try:
        wait_until(reached, deadline_s=deadline_s, interval_s=0.3, what=f"job {job_id} to be {status}")
    except AssertionError as exc:
        if "timed out" in str(exc):
            raise AssertionError(str(exc) + "\n" + "\n".join(x.log_text()[-6000:] for x in logs)) from None
        raise


def task_log(api, task_id: str) -> str:
    """The whole task log, through the URL the API gives for it."""
    info = api.get(f"/api/v3/tasks/{task_id}/log")
    if info.status_code == 204:
        return ""
    resp = requests.get(api.base_url + info.json()["url"], timeout=10)
    resp.raise_for_status()
    return resp.text


def write_job_type(scripts: Path, name: str, source: str) -> None:
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / f"{name}.js").write_text(source, encoding="utf-8")


def wait_gone(predicate_text: str, deadline_s: float) -> float:
    """Seconds until no live process mentions `predicate_text`; fails after the deadline."""
    began = time.monotonic()
    wait_until(lambda: not processes_mentioning(predicate_text), deadline_s=deadline_s, interval_s=0.1,
               what=f"processes mentioning {predicate_text} to end")
    return time.monotonic() - began
