"""Build flamenco-manager.pyz and flamenco-worker.pyz with shiv.

Both zipapps share one staging site-packages, installed once from this
project (with its pinned dependencies), so a build costs one pip run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STAGING = ROOT / "build" / "site-packages"

ZIPAPPS = {
    "flamenco-manager.pyz": "flamenco_pkg.manager.cli:main",
    "flamenco-worker.pyz": "flamenco_pkg.worker.cli:main",
}


def stage() -> None:
    """Install the project and its dependencies into the staging folder."""
    if STAGING.exists():
        shutil.rmtree(STAGING)
    STAGING.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(STAGING), str(ROOT)],
        check=True,
    )
    # pip leaves a build tree inside the source folder; keep the tree clean.
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)


def build(output: str, entry_point: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "shiv", "--site-packages", str(STAGING),
         "--entry-point", entry_point, "--output-file", str(ROOT / output),
         "--python", "/usr/bin/env python3", "--compressed", "--reproducible"],
        check=True,
    )
    print(f"built {output}")


def main() -> None:
    stage()
    for output, entry_point in ZIPAPPS.items():
        build(output, entry_point)


if __name__ == "__main__":
    main()
