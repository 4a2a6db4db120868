from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end test with real Blender, FFmpeg or processes")


@pytest.fixture
def need_blender():
    if not shutil.which("blender") or not shutil.which("ffmpeg"):
        pytest.skip("needs Debian's blender and ffmpeg (installed by .ci/run)")
