"""The Manager's SQLite database: opening, checking, migrating, transactions.

One writer connection serves every write. Each write transaction takes a
process lock and `BEGIN IMMEDIATE`, so writes never interleave and a half-done
request rolls back as a whole. Under gevent the lock is gevent's (the Manager
monkey-patches threading), and SQLite calls on the writer never yield.

Reads that can be long (the web UI's lists and detail pages, the periodic
integrity check) run on read-only connections in gevent's native thread pool
instead: WAL lets them read a committed snapshot while the writer goes on,
and SQLite releases the GIL while it works, so the event loop keeps serving
Workers meanwhile. A read that belongs to a write stays on the writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import gevent
import gevent.monkey
import gevent.queue

T = TypeVar("T")

_native_sleep = gevent.monkey.get_original("time", "sleep")  # for pool threads: gevent's would need a hub

log = logging.getLogger("flamenco.db")


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


class DatabaseError(Exception):
    """The database cannot be used: corrupt, unreadable, or from a newer Manager."""


_second_text: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def utcnow() -> str:
    """Now as stored in the database: sortable ISO-8601 UTC text (as `to_db_time` writes it).

    The date and time of day are formatted once a second: a hand-out and its
    completion stamp several rows, and a stamp made with datetime cost 3.4 us
    here against 1.2 us this way.
    """
    global _second_text
    second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)  # floored, as datetime.now() is
    if second != _second_text[0]:
        _second_text = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second_text[1]}.{nanoseconds // 1000:06d}Z"


def to_db_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db_time(text: str | None) -> datetime | None:
    if not text:
        return None
    if len(text) == 27 and text[-1] == "Z":  # as to_db_time writes it; fromisoformat is ~20x faster than strptime
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def migrations() -> list[tuple[int, str, str]]:
    """Numbered migrations shipped with the package: (number, name, sql)."""
    found = []
    for entry in resources.files("flamenco_pkg.manager.db").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


RESTART_WAL_PAGES = 1000  # a WAL this long is copied whole (writes held briefly), so that it starts over
FULL_ATTEMPTS = 10  # tries at that, a few milliseconds apart, per checkpoint call
# Prepared statements the writer keeps. Python's default, 128, is fewer than the Manager has:
# under load they evicted each other and a hand-out prepared its SQL again.
STATEMENT_CACHE = 1024
BULK_WAL_MAX_BYTES = 256 * 2**20  # a WAL this long is folded even while a bulk write runs
READERS = 4  # read-only connections; each busy one occupies a thread of gevent's pool


def check_database(conn: sqlite3.Connection, path: str) -> None:
    """Raise DatabaseError when SQLite finds damage or dangling references (one snapshot)."""
    try:
        conn.execute("BEGIN")
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            broken = conn.execute("PRAGMA foreign_key_check").fetchall() if problems == ["ok"] else []
        finally:
            conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"database {path} is not a usable SQLite file: {exc}") from exc
    if problems != ["ok"]:
        raise DatabaseError(f"database {path} failed its integrity check: {problems[:5]}")
    if broken:
        raise DatabaseError(f"database {path} has {len(broken)} rows pointing at missing rows")


def _in_read_tx(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple) -> tuple[bool, Any]:
    """Runs in a pool thread: one snapshot for everything `fn` reads.

    Returns (True, result) or (False, exception): an exception raised out of a
    pool thread would be printed by gevent's hub as a traceback, and a 404 is
    not worth a traceback in the log.
    """
    conn.execute("BEGIN")
    try:
        result = fn(conn, *args)
    except Exception as exc:  # noqa: BLE001 — handed back to the waiting greenlet
        conn.execute("ROLLBACK")
        return False, exc
    conn.execute("COMMIT")
    return True, result


class Database:
    """One writer connection with serialised transactions, and a pool of read-only ones."""

    def __init__(self, path: Path | str, *, readers: int = READERS, check: bool = True) -> None:
        self.path = str(path)
        # Called with the SQLite error when a write fails for lack of space; returns the error to raise.
        self.on_full: Callable[[BaseException], BaseException] | None = None
        self._lock = threading.RLock()
        self._bulk_writes = 0  # bulk_write() blocks running
        self._depth = 0
        self._tx_owner: Any = None  # the greenlet inside tx(), to refuse its reads on the pool
        self._readers_max = max(1, readers)
        self._readers_open = 0
        self._idle_readers: gevent.queue.Queue = gevent.queue.Queue()
        self._lookup_conn: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None  # only checkpoint_passive's thread uses it
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=20.0,
                cached_statements=STATEMENT_CACHE,
            )
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from exc
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout = 20000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        if check:  # tools run beside a running Manager (`-add-user`) leave the check to it
            check_database(self.conn, self.path)
        self._migrate()
        self.conn.execute("PRAGMA foreign_keys = ON")

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
    def tx(self, *, check_foreign_keys: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested calls join the outer one.

        Whatever fails, the body or the COMMIT itself (a full disk fails at
        COMMIT), the transaction is rolled back, so the next one starts clean.
        A full disk is handed to `on_full`, which gives the error to raise.
        `check_foreign_keys=False`, only for inserts whose rows reference
        nothing but rows the caller itself has just written (a submission's
        tasks), spares SQLite a lookup per reference: a tenth of storing a
        job. It is off for this one transaction (not when joining another).
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            if not check_foreign_keys:
                self.conn.execute("PRAGMA foreign_keys = OFF")  # no effect inside a transaction
                try:
                    with self.tx() as conn:
                        yield conn
                finally:
                    self.conn.execute("PRAGMA foreign_keys = ON")
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._tx_owner = gevent.getcurrent()
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
                self._tx_owner = None

    @contextlib.contextmanager
    def peek(self) -> Iterator[sqlite3.Connection]:
        """The writer's connection for a short read, without a write transaction.

        For the few-row reads of a Worker's every call (its credentials):
        under the writer's lock, so no other greenlet's transaction is half
        seen, but without BEGIN IMMEDIATE and COMMIT. Each statement reads the
        latest commit; inside the caller's own `tx()` it reads that transaction.
        """
        with self._lock:
            yield self.conn

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` in one read transaction on a read-only connection, in a native thread.

        The calling greenlet waits; the event loop does not. `fn` sees the
        latest commit as of its first statement and runs outside the event
        loop's thread, so it must be pure: SQL and row conversion only, no
        logging, no gevent, no Manager state. A greenlet inside `tx()` may
        not use it: it would not see its own uncommitted writes.
        """
        if self._depth and self._tx_owner is gevent.getcurrent():
            raise RuntimeError("a read inside a write transaction must use that transaction's connection")
        conn = self._take_reader()
        result = gevent.get_hub().threadpool.spawn(_in_read_tx, conn, fn, args)
        try:
            ok, value = result.get()
        except BaseException:
            if result.ready():
                self._idle_readers.put(conn)
            else:  # this greenlet was killed; the thread still uses the connection
                result.rawlink(lambda _done: self._idle_readers.put(conn))
            raise
        self._idle_readers.put(conn)
        if not ok:
            raise value
        return value

    def lookup(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` right here on the event loop, never waiting for the writer.

        Only for index seeks of a few rows that must be answered per request
        (which Worker is this, who is this API token?): no thread hop. While
        no other greenlet writes, `fn` runs on the writer's connection, whose
        page cache is warm; while one does (a submission's batch, a
        checkpoint's second pass), on a read-only connection of its own
        (WAL readers never wait). That one's cache starts cold after every
        commit, which made it four times slower for a Worker's row. Each
        statement sees the latest commit, also one by another process (the
        `-add-user` command line); inside the caller's own `tx()`, that
        transaction.
        """
        if self._lock.acquire(blocking=False):
            try:
                return fn(self.conn, *args)
            finally:
                self._lock.release()
        if self._lookup_conn is None:
            self._lookup_conn = self._open_reader()
        return fn(self._lookup_conn, *args)

    def _take_reader(self) -> sqlite3.Connection:
        if self._idle_readers.empty() and self._readers_open < self._readers_max:
            self._readers_open += 1
            try:
                return self._open_reader()
            except BaseException:
                self._readers_open -= 1
                raise
        return self._idle_readers.get()

    def _open_reader(self) -> sqlite3.Connection:
        uri = Path(self.path).absolute().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=20.0)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open database {self.path} for reading: {exc}") from exc
        conn.row_factory = sqlite3.Row
        return conn

    def _rollback(self) -> None:
        if not self.conn.in_transaction:  # SQLite may have rolled back by itself
            return
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("rolling back a failed transaction failed too: %s", exc)

    def check_integrity(self) -> None:
        """Raise DatabaseError on damage; checks on a connection of its own in a native thread.

        Neither the writer nor the event loop waits for it, however long the
        check takes on a big database.
        """
        def check() -> None:
            conn = self._open_reader()
            try:
                check_database(conn, self.path)
            finally:
                conn.close()

        gevent.get_hub().threadpool.apply(check)

    def checkpoint(self) -> bool:
        """Fold the WAL into the database file; False when readers kept it busy.

        Runs in a native thread while holding the writer (writes wait, the
        event loop does not), and never waits for readers: with a long read
        in progress it returns False at once and the caller tries later.
        """
        def fold() -> bool:
            self.conn.execute("PRAGMA busy_timeout = 0")
            try:
                busy, _log, _done = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                self.conn.execute("PRAGMA busy_timeout = 20000")
            return not busy

        with self._lock:
            return gevent.get_hub().threadpool.apply(fold)

    def take_over_checkpoints(self) -> None:
        """From now on the writer's COMMITs never fold the WAL; `checkpoint_passive` must, regularly.

        SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000
        WAL pages, with an fsync, on the event loop: under load that is the
        longest stall a Worker's call meets.
        """
        with self._lock:
            self.conn.execute("PRAGMA wal_autocheckpoint = 0")

    @contextlib.contextmanager
    def bulk_write(self) -> Iterator[None]:
        """A big write (a 100k-task submission) runs: passive checkpoints wait until it is done.

        They would take CPU from it and, once the WAL is long, hold the
        writer for their second pass; the WAL is folded right after instead.
        Past BULK_WAL_MAX_BYTES of WAL they run anyway.
        """
        self._bulk_writes += 1
        try:
            yield
        finally:
            self._bulk_writes -= 1

    def _bulk_write_running(self) -> bool:
        if not self._bulk_writes:
            return False
        try:
            return os.path.getsize(self.path + "-wal") < BULK_WAL_MAX_BYTES
        except OSError:
            return True

    def checkpoint_passive(self) -> tuple[int, int]:
        """Copy committed WAL pages into the database file, in a native thread on a connection of its own.

        A PASSIVE pass copies the bulk while the writer and readers go on.
        Under steady writes it never catches up, and the WAL only starts over
        once all of it is copied: it would grow without end, and every page
        read walks its index. So when the WAL is long, the same thread goes
        straight on with a FULL pass, which holds off writers (SQLite's own
        lock: the writer's BEGIN waits in SQLite's busy handler) only while it
        copies the few pages written since the PASSIVE one, milliseconds.
        Without waiting: while a write or a reader's older snapshot is in the
        way it tries again a few times, then leaves it to the next call.
        (Holding the Manager's writer lock for that pass instead meant going
        through the event loop between the passes: under load that took
        seconds, and the pass then held all writes for 400 ms.) Returns (pages
        in the WAL, pages copied); (0, 0) when it waited for a bulk write.
        """
        if self._bulk_write_running():
            return 0, 0

        def fold() -> tuple[int, int]:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._checkpointer.execute("PRAGMA busy_timeout = 0")  # FULL must never wait
            conn = self._checkpointer
            _busy, wal_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            # Even when it copied all it saw, writes went on meanwhile: only a pass that holds them
            # off leaves the WAL all copied when the next write starts, which then starts it over.
            for _attempt in range(FULL_ATTEMPTS if wal_pages >= RESTART_WAL_PAGES else 0):
                busy, wal_pages, copied = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
                if not busy:
                    break
                _native_sleep(0.002)  # a write transaction is open: they last a millisecond or so
            return wal_pages, copied

        return gevent.get_hub().threadpool.apply(fold)

    def close(self) -> None:
        with self._lock:
            if self._lookup_conn is not None:
                self._lookup_conn.close()
                self._lookup_conn = None
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
            while not self._idle_readers.empty():
                self._idle_readers.get().close()
                self._readers_open -= 1
            self.conn.close()
