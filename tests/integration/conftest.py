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


@pytest.fixture(scope="module")
def module_manager(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    """One Manager for a whole test file (each start costs seconds).

    Only for files whose tests leave nothing behind that another test reads; such a
    file opts in by overriding `manager` with this one, and may set MANAGER_CONFIG.
    """
    proc = ManagerProcess(tmp_path_factory.mktemp("module-manager") / "manager",
                          extra_config=getattr(request.module, "MANAGER_CONFIG", "")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def api(manager: ManagerProcess) -> Api:
    return manager.api()
