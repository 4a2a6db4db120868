"""Users, roles and API tokens (issue 14): who is asking, and may they.

`permissions.py` is the pure table (operation -> permission, role -> rights);
this module applies it to a request: it finds the user from an
`Authorization: Bearer` token or the `flamenco_session` cookie (one index
seek each, on `Database.lookup`, so a token revoked by another process is
refused at once), checks CSRF for cookie-authenticated writes and answers
401/403 as `ManagerError`. With `auth.enabled` off none of this runs: every
request is `AUTH_OFF`, an anonymous admin, and Worker calls never come here.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from ..db import users as user_db
from ..db.connection import from_db_time, utcnow
from ..errors import ManagerError
from . import credentials
from .permissions import OPERATIONS, Permission, Role, allows, may_change_job
from .ratelimit import LoginLimiter

log = logging.getLogger("flamenco.auth")

TOKEN_SEEN_RESOLUTION = timedelta(minutes=1)  # an API token's last_used is written at most this often
SAFE_METHODS = ("GET", "HEAD")
CSRF_HEADER = "X-CSRF-Token"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="Flamenco"'}


@dataclass(frozen=True)
class Principal:
    """The user behind a request."""

    username: str
    role: Role
    via: str  # "off" (authentication is off), "token" or "session"
    csrf_token: str = ""
    token_id: str = ""

    @property
    def is_user(self) -> bool:
        """A real user (authentication on), whose changes are audited and whose jobs are its own."""
        return self.via != "off"


AUTH_OFF = Principal("", Role.ADMIN, "off")


def unauthorized(message: str = "authentication required: log in, or send Authorization: Bearer <API token>"
                 ) -> ManagerError:
    return ManagerError(401, message, dict(UNAUTHORIZED_HEADERS))


def _role(text: str) -> Role | None:
    try:
        return Role(text)
    except ValueError:
        return None


class Auth:
    """Per-Manager state of authentication: the failed-login limiter. Users live in the database."""

    def __init__(self) -> None:
        self.limiter = LoginLimiter()

    def identify(self, db, environ: Mapping[str, Any]) -> Principal | None:
        """The user named by the request's credentials, or None (none, unknown, revoked or expired).

        A Bearer token wins over the cookie; a Basic header is a Worker's, not a user's.
        """
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header:
            token = credentials.parse_bearer(header)
            return self._by_token(db, token) if token else None
        session_id = credentials.session_from_cookies(environ.get("HTTP_COOKIE", ""))
        if not session_id:
            return None
        row = db.lookup(user_db.by_session, credentials.digest(session_id), utcnow())
        role = _role(row["role"]) if row else None
        if role is None:
            return None
        return Principal(row["username"], role, "session", csrf_token=row["csrf_token"])

    def _by_token(self, db, token: str) -> Principal | None:
        row = db.lookup(user_db.by_token, credentials.digest(token))
        role = _role(row["role"]) if row else None
        if role is None:
            return None
        seen = from_db_time(row["last_used_at"])
        if seen is None or datetime.now(timezone.utc) - seen >= TOKEN_SEEN_RESOLUTION:
            with db.tx() as conn:
                user_db.touch_token(conn, row["public_id"], utcnow())
        return Principal(row["username"], role, "token", token_id=row["public_id"])

    def check(self, manager, permission: Permission, environ: Mapping[str, Any]) -> Principal | None:
        """The user allowed to do this, AUTH_OFF with authentication off, None for a public
        operation without credentials; ManagerError 401/403 otherwise."""
        if not manager.config.auth.enabled:
            return AUTH_OFF
        if permission is Permission.PUBLIC:
            return None
        user = self.identify(manager.db, environ)
        if user is None:
            raise unauthorized()
        if not allows(user.role, permission):
            raise ManagerError(403, f"user {user.username} ({user.role.value}) may not do this; "
                                    f"it needs: {permission.value}")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if user.via == "session" and method not in SAFE_METHODS:
            sent = environ.get("HTTP_X_CSRF_TOKEN", "")
            if not sent or not hmac.compare_digest(sent.encode("utf-8"), user.csrf_token.encode("utf-8")):
                raise ManagerError(403, f"missing or wrong {CSRF_HEADER} header (see POST /api/v3/auth/login)")
        return user

    def socketio_allowed(self, manager, environ: Mapping[str, Any], auth: Any) -> bool:
        """Whether a live-update connection may open: a viewer or more, by session cookie, Bearer
        header or Socket.IO `auth: {token}`. Checked once, when it opens."""
        if not manager.config.auth.enabled:
            return True
        token = auth.get("token") if isinstance(auth, dict) else None
        if isinstance(token, str) and token:
            user = self._by_token(manager.db, token)
        else:
            user = self.identify(manager.db, environ)
        return user is not None and allows(user.role, Permission.VIEW)

    def check_operation(self, manager, operation_id: str, environ: Mapping[str, Any]) -> Principal | None:
        rule = OPERATIONS.get(operation_id)
        if rule is None:  # an operation missing from the table: nobody, rather than everybody
            rule_perm = Permission.ADMIN
            log.error("operation %s has no permission in auth/permissions.py; admins only", operation_id)
        else:
            rule_perm = rule.permission
        return self.check(manager, rule_perm, environ)


def require_job_change(user: Principal | None, submitted_by: str | None) -> None:
    """403 unless `user` may change a job submitted by `submitted_by` (artists: only their own)."""
    if user is None or not user.is_user:
        return
    if not may_change_job(user.role, user.username, submitted_by):
        whose = f"{submitted_by}'s job" if submitted_by else "a job submitted without a user"
        raise ManagerError(403, f"user {user.username} ({user.role.value}) may not change {whose}")
