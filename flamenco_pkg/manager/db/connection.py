"""The Manager's SQLite database: opening, checking, migrating, transactions.

One connection serves the whole process. Every transaction takes a process
lock and `BEGIN IMMEDIATE`, so writes never interleave and a half-done
request rolls back as a whole. Under gevent the lock is gevent's (the Manager
monkey-patches threading), and SQLite calls themselves never yield.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

log = logging.getLogger("flamenco.db")


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


class DatabaseError(Exception):
    """The database cannot be used: corrupt, unreadable, or from a newer Manager."""


def utcnow() -> str:
    """Now as stored in the database: sortable ISO-8601 UTC text."""
    return to_db_time(datetime.now(timezone.utc))


def to_db_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def migrations() -> list[tuple[int, str, str]]:
    """Numbered migrations shipped with the package: (number, name, sql)."""
    found = []
    for entry in resources.files("flamenco_pkg.manager.db").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """A single SQLite connection with WAL, foreign keys and serialised transactions."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # Called with the SQLite error when a write fails for lack of space; returns the error to raise.
        self.on_full: Callable[[BaseException], BaseException] | None = None
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=20.0
            )
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 20000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self._check_integrity()
        self._migrate()
        self.conn.execute("PRAGMA foreign_keys = ON")

    def _check_integrity(self) -> None:
        try:
            problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"database {self.path} is not a usable SQLite file: {exc}") from exc
        if problems != ["ok"]:
            raise DatabaseError(f"database {self.path} failed its integrity check: {problems[:5]}")
        broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise DatabaseError(
                f"database {self.path} has {len(broken)} rows pointing at missing rows"
            )

    def _migrate(self) -> None:
        current = self.conn.execute("PRAGMA user_version").fetchone()[0]
        available = migrations()
        newest = available[-1][0] if available else 0
        if current > newest:
            raise DatabaseError(
                f"database {self.path} is at schema version {current}, but this Manager "
                f"only knows up to {newest}; use a newer Manager"
            )
        for number, name, sql in available:
            if number <= current:
                continue
            log.info("applying database migration %s", name)
            # Foreign keys stay off while migrating, as tables may be rebuilt.
            self.conn.execute("PRAGMA foreign_keys = OFF")
            try:
                self.conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK") if self.conn.in_transaction else None
                raise DatabaseError(f"migration {name} failed: {exc}") from exc

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested calls join the outer one.

        Whatever fails, the body or the COMMIT itself (a full disk fails at
        COMMIT), the transaction is rolled back, so the next one starts clean.
        A full disk is handed to `on_full`, which gives the error to raise.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if self.on_full is not None and _is_full(exc):
                    raise self.on_full(exc) from exc
                raise
            finally:
                self._depth = 0

    def _rollback(self) -> None:
        if not self.conn.in_transaction:  # SQLite may have rolled back by itself
            return
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("rolling back a failed transaction failed too: %s", exc)

    def check_integrity(self) -> None:
        """Raise DatabaseError when SQLite finds damage or dangling references."""
        with self._lock:
            self._check_integrity()

    def checkpoint(self) -> bool:
        """Fold the WAL into the database file; False when readers kept it busy."""
        with self._lock:
            busy, _log, _done = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def close(self) -> None:
        with self._lock:
            self.conn.close()
