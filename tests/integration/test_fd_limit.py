"""The Manager raises its open-file limit at start-up: a thousand Workers' connections need it."""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.farm import REPO, ManagerProcess

LOW = 256


@dataclass
class LowLimitManager(ManagerProcess):
    """A Manager whose process starts with a soft open-file limit of LOW."""

    def command(self) -> list[str]:
        start = ("import resource, runpy, sys; "
                 f"resource.setrlimit(resource.RLIMIT_NOFILE, ({LOW}, resource.getrlimit(resource.RLIMIT_NOFILE)[1])); "
                 f"sys.argv = [{str(REPO / 'flamenco.py')!r}] + sys.argv[1:]; "
                 f"runpy.run_path({str(REPO / 'flamenco.py')!r}, run_name='__main__')")
        return [sys.executable, "-c", start, "manager"]


def _soft_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-file limit in /proc")


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="needs Linux /proc")
def test_the_manager_raises_a_low_open_file_limit_to_the_hard_one(tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= LOW:
        pytest.skip(f"the hard open-file limit here is {hard}: nothing to raise")
    manager = LowLimitManager(tmp_path).start()
    try:
        expected = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
        assert _soft_limit(manager.proc.pid) == expected
    finally:
        manager.stop()
