"""UPnP/SSDP on loopback: a Worker finds the Manager; a taken port does not stop the Manager.

The SSDP address is moved to 127.0.0.1 and a free port through
FLAMENCO_SSDP_ADDRESS / FLAMENCO_SSDP_PORT, so no test datagram leaves this machine.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from flamenco_pkg.discovery import MANAGER_UUID
from tests.e2e.harness import E2EManager, WorkerProcess
from tests.integration.farm import wait_until


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def discoverable_manager(workdir: Path, ssdp_env: dict[str, str]) -> E2EManager:
    manager = E2EManager(workdir, env_extra=ssdp_env)
    workdir.mkdir(parents=True)
    (workdir / "shared").mkdir()
    (workdir / "flamenco-manager.yaml").write_text(
        "_meta:\n  version: 3\n"
        f"listen: '127.0.0.1:{manager.port}'\n"
        f"shared_storage_path: {workdir / 'shared'}\n"
        f"local_manager_storage_path: {workdir / 'storage'}\n"
        "autodiscoverable: true\n", encoding="utf-8")
    return manager


@pytest.fixture
def ssdp_env() -> dict[str, str]:
    return {"FLAMENCO_SSDP_ADDRESS": "127.0.0.1", "FLAMENCO_SSDP_PORT": str(free_udp_port())}


def test_worker_finds_the_manager(tmp_path, ssdp_env):
    manager = discoverable_manager(tmp_path / "manager", ssdp_env).start()
    worker = WorkerProcess(tmp_path / "w", None, name="finder", env_extra=ssdp_env)
    try:
        found = worker.run("-find-manager", timeout=90)
        assert found.returncode == 0, found.stderr
        assert found.stdout.strip() == manager.url + "/"

        description = requests.get(manager.url + "/upnp/description.xml", timeout=5)
        assert description.status_code == 200
        assert description.headers["Content-Type"].startswith("text/xml")
        assert f"<UDN>uuid:{MANAGER_UUID}</UDN>" in description.text

        # Without -manager, the Worker discovers the Manager and signs on there.
        worker.start()
        api = manager.api()
        wait_until(lambda: any(w["name"] == "finder" and w["status"] == "awake"
                               for w in api.get("/api/v3/worker-mgt/workers").json()["workers"]),
                   deadline_s=60, what="the discovered worker to be awake")
        assert f"found a Manager at {manager.url}/" in worker.log_text()
    finally:
        worker.stop()
        manager.stop()


def test_no_manager_found_is_a_clear_failure(tmp_path, ssdp_env, monkeypatch):
    from flamenco_pkg import discovery

    for key, value in ssdp_env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(discovery.DiscoveryError, match="no Flamenco Manager answered"):
        discovery.find_manager(timeout_s=1.5)


def test_taken_ssdp_port_only_costs_autodiscovery(tmp_path, ssdp_env):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", int(ssdp_env["FLAMENCO_SSDP_PORT"])))
        manager = discoverable_manager(tmp_path / "manager", ssdp_env).start()
        try:
            assert manager.api().get("/api/v3/version").status_code == 200
            wait_until(lambda: "autodiscovery is off" in manager.log_text(), deadline_s=10,
                       what="the Manager's warning about the SSDP port")
        finally:
            manager.stop()
