"""A full disk: detection, one warning per disk, recovery, and transactions rolled back (real SQLite)."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from flamenco_pkg.manager import disk_full
from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.context import open_manager
from flamenco_pkg.manager.db.connection import Database
from flamenco_pkg.manager.disk_full import DiskFull, DiskWatch, is_disk_full, mount_point

LOGGER = "flamenco.disk"


def full_sqlite_error() -> sqlite3.OperationalError:
    """A real SQLITE_FULL from SQLite: a database that may not grow."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    raise AssertionError("SQLite did not report a full database")


def test_is_disk_full():
    assert is_disk_full(full_sqlite_error())
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(DiskFull("x"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(ValueError("nope"))


def test_mount_point_of_missing_path_is_its_nearest_mount(tmp_path):
    assert mount_point(tmp_path / "not" / "there.txt") == mount_point(tmp_path)
    assert os.path.ismount(mount_point(tmp_path))


def test_one_warning_per_disk_then_one_on_recovery(tmp_path, caplog):
    free = {"bytes": 0}
    watch = DiskWatch(free=lambda _disk: free["bytes"])
    changes = []
    watch.on_change.append(lambda: changes.append(watch.message()))
    disk = mount_point(tmp_path)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        first = watch.full(tmp_path / "db.sqlite", "database")
        for _ in range(50):
            again = watch.full(tmp_path / "storage" / "log.txt", "task logs")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"no space left on the disk at {disk}" in warnings[0].getMessage()
    assert first.status == 507 and str(disk) in first.message and "database" in first.message
    assert "task logs" in again.message
    assert watch.is_full and str(disk) in watch.message()
    assert len(changes) == 1

    assert watch.recheck() == [] and watch.is_full  # still no room
    free["bytes"] = disk_full.MIN_FREE_BYTES
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert watch.recheck() == [disk]
    assert not watch.is_full and watch.message() is None
    assert [r.getMessage() for r in caplog.records] == [
        f"the disk at {disk} has free space again (4 MiB); the Manager writes there normally again"]
    assert changes == [changes[0], None]


def test_failed_transactions_roll_back_and_the_next_one_works(tmp_path):
    db = Database(tmp_path / "full.sqlite")
    seen = []
    db.on_full = lambda exc: seen.append(exc) or DiskFull("full")
    try:
        with db.tx() as conn:
            conn.execute("CREATE TABLE t (x)")
            conn.execute("INSERT INTO t VALUES ('kept')")
        pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
        db.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(DiskFull):
            with db.tx() as conn:
                conn.execute("INSERT INTO t VALUES ('small, fits in a page')")
                conn.execute("INSERT INTO t VALUES (zeroblob(200000))")
        assert len(seen) == 1 and is_disk_full(seen[0])
        assert not db.conn.in_transaction
        with db.tx() as conn:  # the next transaction starts clean...
            rows = [r[0] for r in conn.execute("SELECT x FROM t")]
        assert rows == ["kept"]  # ...and nothing of the failed one was kept
        with pytest.raises(ValueError):  # other errors are not disk-full errors
            with db.tx() as conn:
                conn.execute("INSERT INTO t VALUES ('gone')")
                raise ValueError("boom")
        assert len(seen) == 1
    finally:
        db.close()


def test_farm_status_report_without_a_full_disk(tmp_path):
    manager = open_manager(Config(database=str(tmp_path / "db.sqlite"),
                                  local_manager_storage_path=str(tmp_path / "storage")),
                           tmp_path / "cfg.yaml", Path(tmp_path), None)
    try:
        assert manager.farm_status_report() == {"status": "inoperative"}
    finally:
        manager.db.close()
