"""Build flamenco-manager.pyz and flamenco-worker.pyz with shiv.

Each zipapp gets its own staging site-packages. The Manager's holds the
project with its `manager` extra (HTTP server, Socket.IO, QuickJS, web UI,
add-on). The Worker's holds only the base dependencies (what both import)
and only the parts of `flamenco_pkg` the Worker imports; the import test in
tests/integration/test_zipapp.py proves nothing it needs was left out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "build"


@dataclass(frozen=True)
class Zipapp:
    output: str
    entry_point: str
    requirement: str  # what pip installs from this project
    keep: tuple[str, ...] | None  # the parts of flamenco_pkg to keep (None: all of it)


ZIPAPPS = (
    Zipapp("flamenco-manager.pyz", "flamenco_pkg.manager.cli:main", f"{ROOT}[manager]", None),
    Zipapp("flamenco-worker.pyz", "flamenco_pkg.worker.cli:main", str(ROOT),
           ("__init__.py", "discovery.py", "logsetup.py", "worker")),
)


def stage(app: Zipapp) -> Path:
    """Install the project and the zipapp's dependencies into its own staging folder."""
    staging = BUILD / f"site-packages-{Path(app.output).stem}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    # --no-compile: shiv extracts and compiles on first start; .pyc files would only double the size.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--target", str(staging), app.requirement],
        check=True,
    )
    # pip leaves a build tree inside the source folder; keep the tree clean.
    shutil.rmtree(BUILD / "lib", ignore_errors=True)
    shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts of dependencies: never run from a zipapp
    if app.keep is not None:
        prune(staging / "flamenco_pkg", app.keep)
    return staging


def prune(package: Path, keep: tuple[str, ...]) -> None:
    """Remove every top-level entry of the package that is not kept."""
    for entry in package.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def build(app: Zipapp, staging: Path) -> Path:
    output = ROOT / app.output
    subprocess.run(
        [sys.executable, "-m", "shiv", "--site-packages", str(staging),
         "--entry-point", app.entry_point, "--output-file", str(output),
         "--python", "/usr/bin/env python3", "--compressed", "--reproducible"],
        check=True,
    )
    return output


def main(argv: list[str]) -> int:
    """`build_zipapp.py [manager] [worker]`: build the named zipapps (default both).

    `build_zipapp.py worker` needs neither Node nor the add-on, so a Worker
    zipapp can be built on each platform of a mixed farm.
    """
    wanted = set(argv) or {"manager", "worker"}
    unknown = wanted - {"manager", "worker"}
    if unknown:
        print(f"usage: build_zipapp.py [manager] [worker] (not {', '.join(sorted(unknown))})", file=sys.stderr)
        return 2
    for app in ZIPAPPS:
        if app.output.removeprefix("flamenco-").removesuffix(".pyz") in wanted:
            build(app, stage(app))
            print(f"built {app.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
