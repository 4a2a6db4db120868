"""Loading the blender-asset-tracer (BAT) bundled with this add-on.

The build puts BAT's package in `vendor/`. It is imported with that folder
on `sys.path` only for the moment of the import: BAT's own submodules are
found through its package afterwards, and no other add-on sees our copy
on the path.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
BAT_VERSION = "1.23"


def import_bat() -> ModuleType:
    """`blender_asset_tracer` with the submodules packing needs."""
    had_mp_main = "__mp_main__" in sys.modules
    if "blender_asset_tracer" not in sys.modules and VENDOR_DIR.is_dir():
        sys.path.insert(0, str(VENDOR_DIR))
        try:
            importlib.import_module("blender_asset_tracer")
        finally:
            sys.path.remove(str(VENDOR_DIR))
    bat = importlib.import_module("blender_asset_tracer")
    for sub in ("pack", "pack.transfer", "blendfile", "bpathlib", "trace"):
        importlib.import_module(f"blender_asset_tracer.{sub}")
    if not had_mp_main:
        # BAT imports multiprocessing, which aliases the current `__main__` as `__mp_main__`.
        # When that `__main__` is the temporary one of a `--python` script, Blender frees it
        # and then touches the alias while quitting: a crash on exit (seen in 3.4). Only
        # child processes started with "spawn" use the alias, and BAT uses threads.
        sys.modules.pop("__mp_main__", None)
    return bat
