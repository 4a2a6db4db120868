"""Running a job type's `eval` expressions against the current scene.

The expressions come from the Manager's job types (they are Python, as in
upstream Flamenco), with these names available: bpy, C (the context),
jobname, Path, abspath(), last_n_dir_parts(n, path=None) and settings.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import bpy


def job_name(scene) -> str:
    """The job's name: the scene's `flamenco_job_name`, else the .blend file's name."""
    name = (getattr(scene, "flamenco_job_name", "") or "").strip()
    return name or Path(bpy.data.filepath).stem or "untitled"


def last_n_dir_parts(n: int, path: str | None = None) -> Path:
    """The last `n` folder names above the .blend file (or `path`), as a relative Path."""
    folder = Path(bpy.path.abspath(path) if path else bpy.data.filepath).absolute().parent
    if n <= 0:
        return Path()
    return Path(*folder.parts[-n:])


def abspath(path: str) -> str:
    return bpy.path.abspath(path)


def evaluate(expression: str, *, settings: Any = None, scene=None, context=None) -> Any:
    """The value of one expression; exceptions are the caller's to report."""
    context = context or bpy.context
    scene = scene or context.scene
    namespace = {
        "__builtins__": builtins, "bpy": bpy, "C": context, "jobname": job_name(scene), "Path": Path,
        "abspath": abspath, "last_n_dir_parts": last_n_dir_parts, "settings": settings,
    }
    # One namespace as globals, so comprehensions inside expressions see these names too.
    return eval(expression, namespace)  # noqa: S307 — job types are Python by design (see docs)
