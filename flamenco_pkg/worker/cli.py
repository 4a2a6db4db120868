"""Worker command line. The Worker itself arrives with its own issue; this stub
keeps the zipapp buildable and answers -help and -version honestly."""

from __future__ import annotations

import sys

from flamenco_pkg import __version__

HELP = """Usage: flamenco-worker [flags]

The Flamenco Worker is not implemented yet in this build; it will find the
Manager, run render tasks with Blender and FFmpeg, and report back.

  -help       show this help
  -version    print the version and exit
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if any(a.lstrip("-") == "version" for a in args):
        print(__version__)
        return 0
    print(HELP)
    return 0 if any(a.lstrip("-") in {"help", "h"} for a in args) else 2
