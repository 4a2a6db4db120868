"""Big writes in short transactions (db/batching.py): sizes adapt, every row goes in, others get turns."""

from __future__ import annotations

import sqlite3

import gevent
import pytest

from flamenco_pkg.manager.db.batching import MAX_BATCH, MIN_BATCH, BatchSizer, in_batches
from flamenco_pkg.manager.db.connection import Database


def test_sizer_aims_at_its_target():
    sizer = BatchSizer(target_s=0.02, first=500)
    sizer.record(500, 0.005)  # fast: grows, but at most 4x at a time
    assert sizer.size == 2000
    sizer.record(2000, 0.08)  # 40 us a row: 500 rows make 20 ms
    assert sizer.size == 500
    sizer.record(500, 10.0)
    assert sizer.size == MIN_BATCH
    for _ in range(10):
        sizer.record(sizer.size, 1e-9)
    assert sizer.size == MAX_BATCH
    assert sizer.transactions == 13


def test_every_row_in_separate_transactions_with_turns_for_others(tmp_path):
    db = Database(tmp_path / "t.sqlite")
    with db.tx() as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
    items = list(range(2345))
    done = 0
    events: list[str] = []

    def step(conn, limit: int) -> int:
        nonlocal done
        chunk = items[done:done + limit]
        conn.executemany("INSERT INTO t (n) VALUES (?)", [(n,) for n in chunk])
        done += len(chunk)
        events.append("batch")
        return len(chunk)

    def other() -> None:
        while done < len(items):
            with db.tx() as conn:  # must not wait for the whole job
                conn.execute("SELECT COUNT(*) FROM t").fetchone()
            events.append("other")
            gevent.sleep(0)

    sizer = BatchSizer(first=100)
    sizer.size = 100
    helper = gevent.spawn(other)
    gevent.sleep(0)
    sizer_total = in_batches(db, step, sizer)
    helper.join(timeout=5)
    assert sizer_total == len(items)
    assert tuple(db.conn.execute("SELECT COUNT(*), SUM(n) FROM t").fetchone()) == (len(items), sum(items))
    assert events.count("batch") == sizer.transactions > 1
    # The other greenlet ran between batches, not only before or after them.
    first, last = events.index("batch"), len(events) - 1 - events[::-1].index("batch")
    assert "other" in events[first:last]
    db.close()


def test_foreign_keys_unchecked_only_inside_the_batches_that_ask(tmp_path):
    db = Database(tmp_path / "t.sqlite")
    with db.tx() as conn:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))")
    seen: list[int] = []

    def step(conn, limit: int) -> int:
        seen.append(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        conn.execute("INSERT INTO child (parent_id) VALUES (7)")  # no parent 7: not checked here
        return 0

    assert in_batches(db, step, check_foreign_keys=False) == 0
    assert seen == [0]
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # on again afterwards
    with pytest.raises(sqlite3.IntegrityError):
        with db.tx() as conn:
            conn.execute("INSERT INTO child (parent_id) VALUES (8)")
    with pytest.raises(RuntimeError):  # also on again after a failed batch
        with db.tx(check_foreign_keys=False):
            raise RuntimeError("boom")
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
