"""Big writes in short transactions: how many rows go into the next one.

Every transaction holds the one writer, and SQLite calls do not yield to
gevent, so a Worker's request waits for whatever transaction is running.
Storing or deleting a 100k-task job therefore goes in batches sized to hold
the writer for about `target_s` each, measured as it goes (the machine may
be busy, and rows differ in size), with a turn for the event loop between
batches (`cooperative.py`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from ..cooperative import yield_to_event_loop
from .connection import Database

TARGET_S = 0.02  # writer held per batch: a Worker call waits at most about this long
FIRST_BATCH = 500
MIN_BATCH = 50
MAX_BATCH = 20_000


class BatchSizer:
    """Adapts the batch size so that each batch takes about `target_s`."""

    def __init__(self, target_s: float = TARGET_S, first: int = FIRST_BATCH) -> None:
        self.target_s = target_s
        self.size = first
        self.transactions = 0  # batches recorded, for the logs

    def record(self, rows: int, elapsed_s: float) -> None:
        """Learn from a batch of `rows` that took `elapsed_s`; sets the next size."""
        self.transactions += 1
        if rows <= 0:
            return
        per_row = max(elapsed_s, 1e-6) / rows
        wanted = round(self.target_s / per_row)
        # Grow at most 4x at a time: one fast batch on a cold cache proves little.
        self.size = max(MIN_BATCH, min(MAX_BATCH, wanted, self.size * 4))


def in_batches(db: Database, step: Callable[[sqlite3.Connection, int], int],
               sizer: BatchSizer | None = None, *, check_foreign_keys: bool = True) -> int:
    """Run `step(conn, limit)` in one transaction after another until it handles fewer than `limit`.

    `step` writes at most `limit` rows and returns how many it handled;
    fewer means it is done. Between transactions other greenlets run.
    Returns the total handled. `check_foreign_keys`: see `Database.tx`.
    """
    sizer = sizer or BatchSizer()
    total = 0
    while True:
        limit = sizer.size
        with db.tx(check_foreign_keys=check_foreign_keys) as conn:
            began = time.perf_counter()
            handled = step(conn, limit)
        sizer.record(handled, time.perf_counter() - began)
        total += handled
        if handled < limit:
            return total
        yield_to_event_loop()
