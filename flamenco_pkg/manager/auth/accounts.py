"""Users, API tokens and login sessions: what the API and the command line do with them.

Shared by `routes/auth.py` and the `-add-user`/`-new-token` flags, so both
check names, roles and passwords the same way. Takes the `Database` only:
the command line runs without a Manager, beside a running one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import gevent

from ..db import users as user_db
from ..db.connection import Database, to_db_time, utcnow
from ..errors import ManagerError
from . import credentials
from .permissions import Role

log = logging.getLogger("flamenco.auth")

SESSION_LIFETIME = timedelta(days=7)


def _off_loop(fn, *args):
    """bcrypt takes tens of milliseconds: in a native thread, so the event loop keeps serving."""
    return gevent.get_hub().threadpool.apply(fn, args)


def check_username(username: str) -> None:
    if not credentials.USERNAME_RE.match(username or ""):
        raise ManagerError(400, f"user name {username!r} is not usable: 1 to 64 of A-Z a-z 0-9 . _ @ -")


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ManagerError(400, f"role {role!r} is not one of {', '.join(r.value for r in Role)}") from None


def save_user(db: Database, username: str, role: str, password: str) -> bool:
    """Create the user or give it a new role and password; True when created. ManagerError(400) on bad input."""
    check_username(username)
    check_role(role)
    problem = credentials.password_problem(password)
    if problem:
        raise ManagerError(400, problem)
    hashed = _off_loop(credentials.hash_password, password)
    with db.tx() as conn:
        if role != Role.ADMIN:
            _keep_an_admin(conn, username, "give another role to")
        created = user_db.save_user(conn, username, role, hashed, utcnow())
    log.info("user %s %s with role %s", username, "created" if created else "updated", role)
    return created


def _keep_an_admin(conn, username: str, doing: str) -> None:
    """Refuse to leave the farm without an admin (nobody could manage users any more)."""
    user = user_db.fetch_user(conn, username)
    if user is not None and user["role"] == Role.ADMIN and not user_db.other_admins(conn, username):
        raise ManagerError(409, f"cannot {doing} {username!r}: it is the last admin; make another user admin first")


def delete_user(db: Database, username: str) -> None:
    with db.tx() as conn:
        _keep_an_admin(conn, username, "delete")
        if not user_db.delete_user(conn, username):
            raise ManagerError(404, f"user {username!r} does not exist")
    log.info("user %s deleted, with its tokens and sessions", username)


def new_token(db: Database, username: str) -> tuple[str, str]:
    """(token id, token) for the user; the token itself is not stored."""
    public_id, token = credentials.new_token()
    with db.tx() as conn:
        user = user_db.fetch_user(conn, username)
        if user is None:
            raise ManagerError(404, f"user {username!r} does not exist")
        user_db.insert_token(conn, user["id"], public_id, credentials.digest(token), utcnow())
    log.info("new API token %s for user %s", public_id, username)
    return public_id, token


def revoke_token(db: Database, public_id: str) -> None:
    with db.tx() as conn:
        if not user_db.delete_token(conn, public_id):
            raise ManagerError(404, f"API token {public_id!r} does not exist")
    log.info("API token %s revoked", public_id)


def _api_time(text: str | None) -> str | None:
    return text.replace("Z", "+00:00") if text else None


def list_users(db: Database) -> list[dict[str, Any]]:
    def read(conn):
        return user_db.list_users(conn), user_db.list_tokens(conn)

    users, tokens = db.read(read)
    by_user: dict[int, list[dict[str, Any]]] = {}
    for t in tokens:
        info = {"id": t["public_id"], "created": _api_time(t["created_at"])}
        if t["last_used_at"]:
            info["last_used"] = _api_time(t["last_used_at"])
        by_user.setdefault(t["user_id"], []).append(info)
    return [{"username": u["username"], "role": u["role"], "tokens": by_user.get(u["id"], [])} for u in users]


def log_in(db: Database, username: str, password: str) -> tuple[str, str, str] | None:
    """(session id, CSRF token, role) for the right password, else None."""
    user = db.lookup(user_db.fetch_user, username)
    if not _off_loop(credentials.check_password, password, user["password_hash"] if user else None):
        return None
    session_id, csrf = credentials.new_session()
    now = datetime.now(timezone.utc)
    with db.tx() as conn:
        user_db.delete_expired_sessions(conn, to_db_time(now))
        user_db.insert_session(conn, credentials.digest(session_id), user["id"], csrf, to_db_time(now),
                               to_db_time(now + SESSION_LIFETIME))
    return session_id, csrf, user["role"]


def log_out(db: Database, session_id: str) -> None:
    with db.tx() as conn:
        user_db.delete_session(conn, credentials.digest(session_id))
