"""The web UI builds with the Node that Debian and Ubuntu LTS ship (issue 15).

Debian 12 and Ubuntu 24.04 ship Node 18.19/18.20, Debian 13 ships 20.x; a
toolchain package whose `engines.node` leaves one of them out makes
`npm ci` warn and `npm run build` fail on a stock machine. The ranges are
npm's, so they are read with a port of npm's own semver rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nodesemver
import pytest

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"
# The oldest release of each Node line a current Debian or Ubuntu LTS ships (or may ship).
DISTRO_NODES = ("18.19.0", "20.0.0", "22.0.0")
OLDEST = DISTRO_NODES[0]


def _engines() -> dict[str, str]:
    """Each locked package's `engines.node`, by its path in the lock file."""
    lock = json.loads((WEBAPP / "package-lock.json").read_text(encoding="utf-8"))
    assert lock.get("lockfileVersion", 0) >= 2, "a lock file npm 7+ writes (it lists every package's engines)"
    found = {}
    for path, meta in lock["packages"].items():
        engines = meta.get("engines")
        node = engines.get("node") if isinstance(engines, dict) else None
        if node:
            found[path or "(webapp)"] = node
    return found


def accepts(node_range: str, version: str) -> bool:
    return nodesemver.satisfies(version, node_range, loose=True)


def test_range_check_reads_npm_ranges():
    """The checker itself: it must be able to say no."""
    assert accepts("^18.0.0 || ^20.0.0 || >=22.0.0", OLDEST)
    assert not accepts(">=20.0.0", OLDEST)
    assert not accepts("^20.19.0 || >=22.12.0", OLDEST)
    assert not accepts("^18.20.0 || >=20", OLDEST)


@pytest.mark.parametrize("version", DISTRO_NODES)
def test_every_locked_package_accepts_distro_node(version):
    engines = _engines()
    assert len(engines) > 20, "the lock file lists the toolchain's engines"
    refused = {path: rng for path, rng in engines.items() if not accepts(rng, version)}
    assert not refused, f"these packages refuse Node {version}: {refused}"


def test_webapp_declares_the_node_make_checks():
    """package.json's engines and the Makefile's one-line check name the same minimum."""
    declared = json.loads((WEBAPP / "package.json").read_text(encoding="utf-8"))["engines"]["node"]
    assert accepts(declared, OLDEST)
    assert not accepts(declared, "18.18.2")
    check = (WEBAPP / "scripts" / "check-node.cjs").read_text(encoding="utf-8")
    assert re.search(r"\b18\.19\b", check), "check-node.cjs names the minimum"


@pytest.mark.parametrize("version,ok", [("18.18.2", False), ("16.20.2", False), ("19.9.0", False),
                                        ("18.19.0", True), ("20.11.1", True), ("22.3.0", True)])
def test_make_turns_away_a_too_old_node_in_one_line(tmp_path, version, ok):
    """The check `make webapp` runs first, on a Node that claims `version`."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH")
    shim = tmp_path / "fake-version.cjs"
    shim.write_text("Object.defineProperty(process, 'versions', "
                    "{ value: { ...process.versions, node: process.env.FAKE_NODE } })\n", encoding="utf-8")
    result = subprocess.run([node, "-r", str(shim), str(WEBAPP / "scripts" / "check-node.cjs")],
                            env={**os.environ, "FAKE_NODE": version}, capture_output=True, text=True, timeout=30)
    assert (result.returncode == 0) == ok, result.stderr
    if ok:
        assert result.stderr == ""
    else:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and version in lines[0] and "18.19" in lines[0], lines
