"""The `auth` API tag (ours, issue 14): log in and out, who am I, users and tokens, the audit log."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from ..auth import AUTH_OFF, accounts, credentials, unauthorized
from ..context import Manager
from ..db import audit as audit_db
from ..http_peer import request_is_https
from .common import NO_CONTENT, ApiRequest, ManagerError, Reply

log = logging.getLogger("flamenco.auth")

DEFAULT_AUDIT_LIMIT = 100


def _secure(m: Manager, r: ApiRequest) -> bool:
    return request_is_https(r.environ, m.config.trusted_proxies)


def login(m: Manager, r: ApiRequest) -> Reply:
    if not m.config.auth.enabled:
        raise ManagerError(400, "authentication is off on this Manager (auth.enabled); no login needed")
    address = r.remote_addr
    wait = m.auth.limiter.retry_after(address)
    if wait:
        raise ManagerError(429, f"too many failed logins from {address}; try again in {wait} s",
                           {"Retry-After": str(wait)})
    username = r.body["username"]
    session = accounts.log_in(m.db, username, r.body["password"])
    if session is None:
        m.auth.limiter.failed(address)
        log.warning("failed login as %r from %s", username, address)
        raise unauthorized("wrong user name or password")
    m.auth.limiter.succeeded(address)
    session_id, csrf, role = session
    log.info("user %s logged in from %s", username, address)
    return Reply(200, {"username": username, "role": role, "csrf_token": csrf},
                 headers={"Set-Cookie": credentials.session_cookie(session_id, secure=_secure(m, r))})


def logout(m: Manager, r: ApiRequest) -> Reply:
    session_id = credentials.session_from_cookies(r.environ.get("HTTP_COOKIE", ""))
    if session_id:
        accounts.log_out(m.db, session_id)
    return Reply(204, headers={"Set-Cookie": credentials.cleared_cookie(secure=_secure(m, r))})


def me(m: Manager, r: ApiRequest) -> dict[str, Any]:
    user = r.user or AUTH_OFF
    return {"auth_enabled": user.is_user, "username": user.username, "role": user.role.value,
            "csrf_token": user.csrf_token}


def fetch_users(m: Manager, r: ApiRequest) -> dict[str, Any]:
    return {"users": accounts.list_users(m.db)}


def save_user(m: Manager, r: ApiRequest) -> Reply:
    accounts.save_user(m.db, r.body["username"], r.body["role"], r.body["password"])
    return NO_CONTENT


def delete_user(m: Manager, r: ApiRequest) -> Reply:
    accounts.delete_user(m.db, r.path["username"])
    return NO_CONTENT


def create_user_token(m: Manager, r: ApiRequest) -> dict[str, str]:
    public_id, token = accounts.new_token(m.db, r.path["username"])
    return {"id": public_id, "token": token}


def revoke_token(m: Manager, r: ApiRequest) -> Reply:
    accounts.revoke_token(m.db, r.path["token_id"])
    return NO_CONTENT


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"time": row["time"].replace("Z", "+00:00"), "user": row["username"],
                           "operation": row["operation"], "target": row["target"]}
    if row["job_uuid"]:
        out["job_id"] = row["job_uuid"]
    if row["details"]:
        out["details"] = json.loads(row["details"])
    return out


def fetch_audit_log(m: Manager, r: ApiRequest) -> dict[str, Any]:
    rows = m.db.read(audit_db.fetch, r.query.get("limit", DEFAULT_AUDIT_LIMIT), r.query.get("job_id"))
    return {"entries": [_entry(row) for row in rows]}


HANDLERS = {
    "authLogin": login,
    "authLogout": logout,
    "authMe": me,
    "fetchUsers": fetch_users,
    "saveUser": save_user,
    "deleteUser": delete_user,
    "createUserToken": create_user_token,
    "revokeToken": revoke_token,
    "fetchAuditLog": fetch_audit_log,
}
