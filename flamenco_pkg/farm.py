"""`python flamenco.py farm`: a Manager and one local Worker on this machine.

For trying the farm out or a one-machine studio. Runs both as child
processes in `.farm/` (config, database, storage) and stops both on Ctrl+C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
FARM_DIR = ROOT / ".farm"
PORT = int(os.environ.get("FLAMENCO_PORT", "8080"))


def write_default_config() -> None:
    config = FARM_DIR / "flamenco-manager.yaml"
    if config.exists():
        return
    shared = FARM_DIR / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "_meta:\n  version: 3\n"
        f"listen: ':{PORT}'\n"
        f"shared_storage_path: {shared}\n"
        f"local_manager_storage_path: {FARM_DIR / 'manager-storage'}\n",
        encoding="utf-8")


def wait_for_manager(url: str, deadline_s: float = 30.0) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if requests.get(url + "api/v3/version", timeout=1).ok:
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    return False


def main() -> int:
    FARM_DIR.mkdir(exist_ok=True)
    write_default_config()
    url = f"http://localhost:{PORT}/"
    manager = subprocess.Popen([sys.executable, str(ROOT / "flamenco.py"), "manager"], cwd=FARM_DIR)
    if not wait_for_manager(url):
        print("the Manager did not start; see its log above", file=sys.stderr)
        manager.terminate()
        return 1
    worker_env = dict(os.environ, FLAMENCO_HOME=str(FARM_DIR / "worker"))
    worker = subprocess.Popen([sys.executable, str(ROOT / "flamenco.py"), "worker", "-manager", url],
                              cwd=FARM_DIR, env=worker_env)
    print(f"\nFlamenco farm running: web UI and API at {url}  (Ctrl+C stops it)\n", flush=True)
    # SIGTERM (a service manager, `kill`) stops the farm like Ctrl+C: both children get a clean shutdown.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        manager.wait()
    except KeyboardInterrupt:
        pass
    # The Worker first, so it can sign off at a Manager that is still there.
    for proc in (worker, manager):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0
