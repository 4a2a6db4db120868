"""Finding the project root of a .blend file, and names for packs (pure, no bpy).

Files are packed relative to the project root, so the folder structure the
artist knows is what the job sees on the farm.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

# Finder -> the marker folder that makes a directory the project root.
FINDERS = {
    "BLENDER_PROJECT": (".blender_project", "Blender Project", "the folder with a .blender_project folder"),
    "GIT": (".git", "Git", "the folder with a .git folder"),
    "SUBVERSION": (".svn", "Subversion", "the folder with a .svn folder"),
    "NONE": ("", "None", "the folder of the .blend file"),
}


def find_project_root(blendfile: Path, finder: str) -> Path:
    """Walk up from the .blend file to the marker; the .blend file's own folder if there is none."""
    marker = FINDERS.get(finder, ("",))[0]
    start = Path(blendfile).absolute().parent
    if marker:
        for folder in (start, *start.parents):
            if (folder / marker).exists():
                return folder
    return start


_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()+,=@#&'!-]+")


def safe_name(job_name: str, fallback: str = "job") -> str:
    """A job name usable as one folder name on every OS and as a Shaman checkout path."""
    name = _UNSAFE.sub("_", job_name).strip(" .")
    return name[:64].rstrip(" .") or fallback


def pack_folder_name(job_name: str, now: float | None = None) -> str:
    """`{timestamp}-{job name}` for copies in shared storage, sortable by time."""
    stamp = time.strftime("%Y-%m-%d-%H%M%S", time.localtime(now))
    return f"{stamp}-{safe_name(job_name)}"
