"""Farm-wide job, task and worker counts per status, kept by migration 0003's triggers."""

from __future__ import annotations

import sqlite3


def fetch(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """{'job': {status: count}, 'task': {...}, 'worker': {...}}; a handful of rows, no scan."""
    totals: dict[str, dict[str, int]] = {"job": {}, "task": {}, "worker": {}}
    for kind, status, count in conn.execute("SELECT kind, status, count FROM status_totals"):
        totals.setdefault(kind, {})[status] = count
    return totals
