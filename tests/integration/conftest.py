from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.farm import Api, ManagerProcess


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[ManagerProcess]:
    proc = ManagerProcess(tmp_path / "manager").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def api(manager: ManagerProcess) -> Api:
    return manager.api()
