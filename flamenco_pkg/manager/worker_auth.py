"""Worker credentials: the secret a Worker invents, bcrypt-hashed at rest."""

from __future__ import annotations

import base64
import binascii
import sqlite3

import bcrypt

from .db import workers as worker_db

BCRYPT_ROUNDS = 4  # bcrypt's minimum: the secret is random, so cost buys little
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
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authenticate(manager, header: str) -> sqlite3.Row | None:
    """The worker row for valid Basic credentials, else None; marks it seen."""
    creds = parse_basic(header)
    if creds is None:
        return None
    uuid, secret = creds
    if not secret_fits(secret):
        return None
    with manager.db.tx() as conn:
        row = worker_db.fetch_by_uuid(conn, uuid)
    if row is None or not bcrypt.checkpw(secret.encode("utf-8"), row["secret"].encode("ascii")):
        return None
    with manager.db.tx() as conn:
        worker_db.mark_seen(conn, row["id"])
    return row
