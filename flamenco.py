"""Development entry point: `python flamenco.py manager|worker|farm [flags]`.

`farm` starts a Manager and one local Worker side by side, which is what the
README's first command runs.
"""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"manager", "worker", "farm"}:
        print("usage: python flamenco.py manager|worker|farm [flags]", file=sys.stderr)
        return 2
    role = sys.argv.pop(1)
    if role == "manager":
        from flamenco_pkg.manager.cli import main as run
    elif role == "worker":
        from flamenco_pkg.worker.cli import main as run
    else:
        from flamenco_pkg.farm import main as run
    return run() or 0


if __name__ == "__main__":
    sys.exit(main())
