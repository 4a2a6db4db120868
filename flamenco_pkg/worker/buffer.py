"""The upstream buffer: task updates that could not reach the Manager, kept in SQLite.

Every task update passes through here, one at a time, so their order is the
order they were made. While anything is queued, new updates join the queue
instead of overtaking it. The queue is delivered oldest first whenever the
Manager can be reached again; an update the Manager answers (with any status)
is done, one it cannot be reached for stays.
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .client import ManagerClient, Unreachable, error_text
from .slotlog import child_thread_name

log = logging.getLogger("flamenco.worker.buffer")

FLUSH_PERIOD_S = 30.0
# While updates wait and the Manager was unreachable, look again this often:
# a finished task's result should not sit here half a minute longer than needed.
RETRY_PERIOD_S = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS task_updates (
    id integer NOT NULL PRIMARY KEY,
    created_at datetime NOT NULL,
    task_id varchar(36) NOT NULL DEFAULT '',
    payload BLOB
);
"""


class BufferError(Exception):
    """The buffer's database cannot be opened or used."""


class Sent(enum.Enum):
    DELIVERED = "delivered"      # 204
    QUEUED = "queued"            # the Manager is unreachable or updates are waiting
    REASSIGNED = "reassigned"    # 409: the task is no longer this Worker's (canceled, requeued, reassigned)
    REJECTED = "rejected"        # any other HTTP answer


class UpstreamBuffer:
    def __init__(self, path: Path, client: ManagerClient) -> None:
        self.path = path
        self.client = client
        self._lock = threading.RLock()
        self._db = _open(path)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_rejection = ""
        self._last_unreachable_log = -1e9

    # -- queue ------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM task_updates").fetchone()[0]

    def _queue(self, task_id: str, update: dict[str, Any]) -> None:
        now = datetime.now(timezone.utc).isoformat()
        with self._db:
            self._db.execute("INSERT INTO task_updates (created_at, task_id, payload) VALUES (?, ?, ?)",
                             (now, task_id, json.dumps(update).encode("utf-8")))
        self._wake.set()

    def send(self, task_id: str, update: dict[str, Any]) -> Sent:
        """Deliver now if possible, else queue. REJECTED leaves the reason in `last_rejection`."""
        with self._lock:
            if self.count() > 0:
                self._queue(task_id, update)
                return Sent.QUEUED
            try:
                resp = self.client.call("POST", f"task/{task_id}", json=update)
            except Unreachable as exc:
                log.warning("Manager unreachable, keeping the task update for later: %s", exc)
                self._queue(task_id, update)
                return Sent.QUEUED
        if resp.status_code == 204:
            return Sent.DELIVERED
        if resp.status_code == 409:
            self.last_rejection = f"the Manager no longer takes updates for this task ({error_text(resp)})"
            return Sent.REASSIGNED
        self.last_rejection = f"unknown error from Manager, code {resp.status_code}: {error_text(resp)}"
        return Sent.REJECTED

    def flush(self, deadline: float | None = None) -> bool:
        """Deliver queued updates in order; True when the queue is empty afterwards."""
        with self._lock:
            delivered = 0
            while deadline is None or time.monotonic() < deadline:
                row = self._db.execute(
                    "SELECT id, task_id, payload FROM task_updates ORDER BY id LIMIT 1").fetchone()
                if row is None:
                    break
                item_id, task_id, payload = row
                try:
                    update = json.loads(payload)
                except (TypeError, ValueError):
                    log.warning("dropping unreadable queued update %d for task %s", item_id, task_id)
                    self._delete(item_id)
                    continue
                timeout: Any = None
                if deadline is not None:
                    left = max(0.1, deadline - time.monotonic())
                    timeout = (min(left, 10.0), left)
                try:
                    resp = self.client.call("POST", f"task/{task_id}", json=update,
                                            **({"timeout": timeout} if timeout else {}))
                except Unreachable as exc:
                    self._log_still_unreachable(exc)
                    return False
                if resp.status_code != 204:
                    log.warning("Manager refused a queued update for task %s (%s); dropping it",
                                task_id, error_text(resp))
                self._delete(item_id)
                delivered += 1
            left = self.count()
            if delivered:
                log.info("delivered %d queued task updates to the Manager, %d left", delivered, left)
            return left == 0

    def _log_still_unreachable(self, exc: Exception) -> None:
        # Retries come every few seconds; once a minute in the log is enough to follow an outage.
        now = time.monotonic()
        if now - self._last_unreachable_log >= 60.0:
            self._last_unreachable_log = now
            log.info("still cannot reach the Manager, %d task updates wait: %s", self.count(), exc)

    def _delete(self, item_id: int) -> None:
        with self._db:
            self._db.execute("DELETE FROM task_updates WHERE id = ?", (item_id,))

    # -- background flushing ---------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._flush_loop, name=child_thread_name("upstream-buffer"), daemon=True)
        self._thread.start()

    def _flush_loop(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            waiting = self.count() > 0
            period = RETRY_PERIOD_S if waiting else FLUSH_PERIOD_S
            self._wake.wait(max(0.0, last + period - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            if time.monotonic() - last < period:
                continue  # woken by a new queued update: the timer decides, not the wake-up
            last = time.monotonic()
            if self.count():
                try:
                    self.flush()
                except sqlite3.Error as exc:
                    log.error("upstream buffer: %s", exc)

    def close(self, final_flush_s: float = 5.0) -> None:
        """Stop the periodic flush, try one last delivery within the limit, close the file."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=final_flush_s)
        try:
            if self.count():
                if not self.flush(deadline=time.monotonic() + final_flush_s):
                    log.warning("%d task updates could not be delivered; they stay in %s for next time",
                                self.count(), self.path)
        finally:
            with self._lock:
                self._db.close()


def _open(path: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BufferError(f"{path}: database integrity check failed: {check}")
        db.executescript(SCHEMA)
        db.execute("PRAGMA user_version = 1")
        db.isolation_level = ""  # `with db:` is one transaction from here on
        return db
    except sqlite3.Error as exc:
        raise BufferError(f"{path}: {exc}") from exc
