"""Passwords, API tokens, session IDs and the session cookie (pure, apart from bcrypt's work).

Tokens and session IDs are 256-bit random values stored as SHA-256 hex: a
fast hash is enough for values nobody can guess, and it lets the Manager
find them with one index seek per request. Passwords are chosen by people,
so they get bcrypt.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from http.cookies import CookieError, SimpleCookie

import bcrypt

SESSION_COOKIE = "flamenco_session"
TOKEN_PREFIX = "flm_"  # recognisable in logs and secret scanners
PASSWORD_ROUNDS = 10  # bcrypt cost: about 50 ms here; failed logins are also rate-limited
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores the rest
USERNAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")



@functools.cache
def _dummy_hash() -> bytes:
    """Checked against for an unknown user, so that costs as much as a wrong password (made once, lazily)."""
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(PASSWORD_ROUNDS))


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """(public id, token): the id names the token in lists and audit entries; the token is shown once."""
    return secrets.token_hex(8), TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session() -> tuple[str, str]:
    """(session id for the cookie, CSRF token)."""
    return secrets.token_urlsafe(32), secrets.token_urlsafe(24)


def password_problem(password: str) -> str | None:
    """Why this password cannot be used, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"a password may have at most {MAX_PASSWORD_BYTES} bytes"
    return None


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(PASSWORD_ROUNDS)).decode("ascii")


def check_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches; without a stored hash it costs as much and says no."""
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    ok = bcrypt.checkpw(data, stored.encode("ascii") if stored else _dummy_hash())
    return ok and stored is not None


def parse_bearer(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def session_from_cookies(cookie_header: str) -> str | None:
    if SESSION_COOKIE not in cookie_header:
        return None
    try:
        jar = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def session_cookie(session_id: str, *, secure: bool) -> str:
    """The Set-Cookie value of a new session (a browser-session cookie; the server ends it)."""
    return f"{SESSION_COOKIE}={session_id}; HttpOnly; SameSite=Strict; Path=/" + ("; Secure" if secure else "")


def cleared_cookie(*, secure: bool) -> str:
    return (f"{SESSION_COOKIE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict; "
            f"Path=/" + ("; Secure" if secure else ""))
