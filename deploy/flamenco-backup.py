#!/usr/bin/env python3
"""Copy the Manager's SQLite database while the Manager keeps running.

    python3 flamenco-backup.py flamenco-manager.sqlite backups/ [--keep 14]

Uses SQLite's online backup, so the copy is one consistent moment of the
database even while jobs are submitted and tasks finish (a plain file copy of
a database in WAL mode is not). The copy is checked (`PRAGMA
integrity_check`) before it gets its final name, and only the newest `--keep`
copies are kept. Needs only Python's standard library.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

PREFIX = "flamenco-manager-"
SUFFIX = ".sqlite"


def backup(database: Path, folder: Path, now: float | None = None) -> Path:
    """Write a checked copy of `database` into `folder`; returns its path."""
    if not database.is_file():
        raise SystemExit(f"flamenco-backup: {database} does not exist")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    target = folder / f"{PREFIX}{stamp}{SUFFIX}"
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # Read-only, and willing to wait while the Manager holds its write lock.
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            copy.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise SystemExit(f"flamenco-backup: the copy of {database} failed its integrity check: {verdict}")
    os.replace(partial, target)
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups (by name, which sorts by time)."""
    copies = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    gone = copies[:-keep] if keep > 0 else []
    for path in gone:
        path.unlink()
    return gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Online backup of the Flamenco Manager's SQLite database.")
    parser.add_argument("database", type=Path, help="the Manager's database, e.g. flamenco-manager.sqlite")
    parser.add_argument("folder", type=Path, help="folder to write the copy into")
    parser.add_argument("--keep", type=int, default=14, help="how many copies to keep (default 14; 0 keeps all)")
    args = parser.parse_args(argv)
    target = backup(args.database, args.folder)
    print(f"backed up {args.database} to {target}")
    for path in prune(args.folder, args.keep):
        print(f"removed old backup {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
