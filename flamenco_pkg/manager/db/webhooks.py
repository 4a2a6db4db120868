"""The webhook outbox: deliveries waiting to be sent, one row each."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


def enqueue(conn: sqlite3.Connection, *, created_at: str, url: str, event: str, body: bytes,
            signature: str) -> int:
    cur = conn.execute(
        """INSERT INTO webhook_outbox (created_at, url, event, body, signature, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, ?)""", (created_at, url, event, body, signature, created_at))
    return int(cur.lastrowid)


def heads(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """The oldest waiting delivery of each URL (deliveries to one URL keep their order)."""
    return conn.execute(
        """SELECT o.id, o.created_at, o.url, o.event, o.body, o.signature, o.attempts, o.next_attempt_at
           FROM webhook_outbox o
           JOIN (SELECT MIN(id) AS id FROM webhook_outbox GROUP BY url) head ON head.id = o.id
           ORDER BY o.next_attempt_at, o.id""").fetchall()


def head_of(conn: sqlite3.Connection, url: str) -> sqlite3.Row | None:
    """The oldest waiting delivery to `url`."""
    return conn.execute(
        """SELECT id, created_at, url, event, body, signature, attempts, next_attempt_at
           FROM webhook_outbox WHERE url = ? ORDER BY id LIMIT 1""", (url,)).fetchone()


def remove(conn: sqlite3.Connection, delivery_id: int) -> None:
    conn.execute("DELETE FROM webhook_outbox WHERE id = ?", (delivery_id,))


def failed(conn: sqlite3.Connection, delivery_id: int, *, next_attempt_at: str, error: str) -> None:
    conn.execute(
        """UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?
           WHERE id = ?""", (next_attempt_at, error[:500], delivery_id))


def drop_urls_except(conn: sqlite3.Connection, urls: Iterable[str]) -> int:
    """Forget deliveries to URLs no longer configured; returns how many."""
    keep = sorted(set(urls))
    marks = ",".join("?" * len(keep))
    where = f"url NOT IN ({marks})" if keep else "1"
    return conn.execute(f"DELETE FROM webhook_outbox WHERE {where}", keep).rowcount


def pending(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM webhook_outbox").fetchone()[0]
