"""The servers a farm benchmark talks to, each a real process on 127.0.0.1.

- `ManagerProc`: the built `flamenco-manager.pyz`, started as an operator
  would (`python flamenco-manager.pyz` in a folder holding its config).
- `BareProc`: `bench/bare_server.py`, the pick-and-update floor.

Both report the CPU seconds their process used, read from /proc, so a run
can tell whether the server or the client was the bottleneck.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANAGER_PYZ = REPO / "flamenco-manager.pyz"

__all__ = ["BareProc", "ManagerProc", "MANAGER_PYZ", "free_port", "process_cpu_seconds"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(proc: subprocess.Popen, port: int, what: str, log: Path, deadline_s: float) -> None:
    """Poll the port until the server answers HTTP, or raise with its log."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /api/v3/version HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on port {port} within {deadline_s:.0f} s (log: {log})")


class _ServerProc:
    what = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.what.replace(' ', '-')}.log"

    def _spawn(self, args: list[str], env: dict[str, str] | None = None, deadline_s: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_up(self.proc, self.port, self.what, self.log_path, deadline_s)
        except BaseException:
            self.stop()
            raise

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid) if self.proc else 0.0

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class ManagerProc(_ServerProc):
    """The zipapp Manager in `workdir`, with a benchmark-friendly config."""

    what = "manager"

    @property
    def db_path(self) -> Path:
        return self.workdir / "flamenco-manager.sqlite"

    def write_config(self) -> None:
        shared = self.workdir / "shared"
        shared.mkdir(parents=True, exist_ok=True)
        (self.workdir / "scripts").mkdir(exist_ok=True)
        (self.workdir / "flamenco-manager.yaml").write_text(
            "_meta:\n  version: 3\n"
            "manager_name: Farm benchmark\n"
            f"listen: '127.0.0.1:{self.port}'\n"
            f"shared_storage_path: {shared}\n"
            f"local_manager_storage_path: {self.workdir / 'storage'}\n"
            "autodiscoverable: false\n"
            "shaman:\n  enabled: false\n", encoding="utf-8")

    def start(self) -> "ManagerProc":
        """The zipapp, or with FLAMENCO_BENCH_SOURCE=1 the source tree (for profiling between builds)."""
        if os.environ.get("FLAMENCO_BENCH_SOURCE") == "1":
            command = [sys.executable, str(REPO / "flamenco.py"), "manager"]
        elif MANAGER_PYZ.exists():
            command = [sys.executable, str(MANAGER_PYZ)]
        else:
            raise RuntimeError(f"{MANAGER_PYZ.name} is not built: run `make zipapps`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()  # the port is new for every start
        self._spawn([*command, "-scripts", str(self.workdir / "scripts")])
        return self


class BareProc(_ServerProc):
    """bench/bare_server.py over a fresh table of `n_tasks` queued tasks."""

    what = "bare server"

    def __init__(self, workdir: Path, n_tasks: int) -> None:
        super().__init__(workdir)
        self.n_tasks = n_tasks

    def start(self) -> "BareProc":
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self._spawn([sys.executable, "-m", "bench.bare_server", "--db", str(self.workdir / "bare.sqlite"),
                     "--port", str(self.port), "--tasks", str(self.n_tasks)], env=env)
        return self
