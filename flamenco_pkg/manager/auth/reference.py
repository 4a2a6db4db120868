"""Writes the permission table of `permissions.py` into docs/auth.md (`make docs`).

Only the part between the markers is replaced; tests/unit/test_auth.py fails
when the file's table is not the code's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .permissions import markdown_table

BEGIN = "<!-- permission table: written by `make docs` from manager/auth/permissions.py -->"
END = "<!-- end of the permission table -->"


def with_table(text: str) -> str:
    """`text` with the table between the markers replaced by the code's (pure)."""
    head, sep, rest = text.partition(BEGIN)
    _old, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"the markers {BEGIN!r} and {END!r} are missing")
    return f"{head}{BEGIN}\n{markdown_table()}{END}{tail}"


def table_in(text: str) -> str:
    return text.partition(BEGIN)[2].partition(END)[0].strip("\n") + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/auth.md")
    path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
