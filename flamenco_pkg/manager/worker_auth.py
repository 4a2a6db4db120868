"""Worker credentials: the secret a Worker invents, bcrypt-hashed at rest.

bcrypt runs once per Worker and stored hash: after a secret has been verified,
the Manager remembers a keyed BLAKE2 digest of the Authorization header that
carried it (the key lives only in this process, so no secret is kept in
memory), next to the stored hash it was checked against. A later request with
the very same header costs one digest (about a microsecond, no base64) and a
dictionary look-up; any other header of that Worker goes through bcrypt again. The Worker's row is still read on every request,
with `Database.lookup` (so a Worker's call never waits for the writer: a big
submission's batch or a WAL checkpoint), so a deleted Worker, or a row whose
stored hash changed, is refused or re-checked at once.

Marking a Worker seen is not part of the request either: the marks wait in
memory (`SeenMarks`) and a loop writes them all once a second in one
transaction (`loops/worker_seen.py`), at most once a second per Worker; the
worker timeout check writes them first.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
from datetime import datetime, timedelta

import bcrypt

from .db import workers as worker_db
from .db.connection import from_db_time, utcnow

BCRYPT_ROUNDS = 4  # bcrypt's minimum: the secret is random, so cost buys little
SEEN_RESOLUTION = timedelta(seconds=1)  # last_seen is written at most this often per Worker
# Checked against when the Worker is unknown, so an unknown id costs as much as a wrong secret.
_DUMMY_HASH = bcrypt.hashpw(b"no such worker", bcrypt.gensalt(BCRYPT_ROUNDS))
MAX_SECRET_BYTES = 72  # bcrypt refuses longer passwords


def secret_fits(secret: str) -> bool:
    """Whether bcrypt can hash this secret (a longer one is refused at registration)."""
    return len(secret.encode("utf-8")) <= MAX_SECRET_BYTES


def hash_secret(secret: str) -> str:
    return bcrypt.hashpw(secret.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def parse_basic(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 inside
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class SeenMarks:
    """When Workers were last heard from, waiting for `loops/worker_seen.py` (or the timeout check) to write them."""

    def __init__(self) -> None:
        self._pending: dict[int, str] = {}  # worker id -> database time

    def note(self, row: sqlite3.Row) -> None:
        """Remember that this Worker called now, unless its stored mark is recent enough."""
        if row["id"] not in self._pending and _seen_long_ago(row):  # a mark waiting is recent enough
            self._pending[row["id"]] = utcnow()

    def __bool__(self) -> bool:
        return bool(self._pending)

    def write(self, conn: sqlite3.Connection) -> None:
        """Write the waiting marks in the caller's transaction (a rolled-back one is noted again)."""
        if self._pending:
            pending, self._pending = self._pending, {}
            worker_db.mark_seen_many(conn, pending.items())


class WorkerAuth:
    """Verifies Worker credentials, with bcrypt only on a Worker's first request."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        # Digest of an Authorization header -> (worker uuid, the stored hash it was verified against);
        # one per Worker.
        self._verified: dict[bytes, tuple[str, str]] = {}
        self._digest_of: dict[str, bytes] = {}  # worker uuid -> its entry in _verified
        self.seen = SeenMarks()

    def _digest(self, header: str) -> bytes:
        return hashlib.blake2b(header.encode("utf-8", "surrogateescape"), key=self._key, digest_size=16).digest()

    def authenticate(self, manager, header: str) -> sqlite3.Row | None:
        """The worker row for valid Basic credentials, else None; marks it seen."""
        digest = self._digest(header)
        known = self._verified.get(digest)
        if known is not None:
            row = manager.db.lookup(worker_db.fetch_by_uuid, known[0])  # never waits for the writer
            if row is not None and row["secret"] == known[1]:
                self.seen.note(row)
                return row
            # Deleted, or registered again with another secret: checked from scratch below.
        creds = parse_basic(header)
        if creds is None:
            return None
        uuid, secret = creds
        if not secret_fits(secret):
            return None
        row = manager.db.lookup(worker_db.fetch_by_uuid, uuid)
        # Not proven yet (or a different secret): bcrypt, outside the database lock.
        stored = row["secret"].encode("ascii") if row is not None else _DUMMY_HASH
        if not bcrypt.checkpw(secret.encode("utf-8"), stored) or row is None:
            self.forget(uuid)
            return None
        self.forget(uuid)
        self._verified[digest] = (uuid, row["secret"])
        self._digest_of[uuid] = digest
        self.seen.note(row)
        return row

    def forget(self, uuid: str) -> None:
        """Drop what is known of a Worker (deleted); the next request runs bcrypt again."""
        digest = self._digest_of.pop(uuid, None)
        if digest is not None:
            self._verified.pop(digest, None)


def _seen_long_ago(row: sqlite3.Row) -> bool:
    seen = from_db_time(row["last_seen_at"])
    return seen is None or datetime.now(seen.tzinfo) - seen >= SEEN_RESOLUTION
