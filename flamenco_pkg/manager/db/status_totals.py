"""Farm-wide job, task and worker counts per status.

Job and worker counts are kept by migration 0003's triggers; task counts are
summed from the per-job counts when read (migration 0011), so that a task's
status change, the hot path, updates one count and not two.
"""

from __future__ import annotations

import sqlite3


def fetch(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """{'job': {status: count}, 'task': {...}, 'worker': {...}}: one row per job and task status, no task rows."""
    totals: dict[str, dict[str, int]] = {"job": {}, "task": {}, "worker": {}}
    for kind, status, count in conn.execute("SELECT kind, status, count FROM status_totals"):
        totals.setdefault(kind, {})[status] = count
    totals["task"] = dict(conn.execute("SELECT status, SUM(count) FROM job_task_counts GROUP BY status"))
    return totals
