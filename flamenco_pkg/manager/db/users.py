"""SQL for users, their API tokens and login sessions (issue 14).

Lookups by token or session hash are single index seeks; the Manager runs
them per request, so a change made by `-add-user` or `-revoke-token` in
another process counts at once.
"""

from __future__ import annotations

import sqlite3


def save_user(conn: sqlite3.Connection, username: str, role: str, password_hash: str, now: str) -> bool:
    """Create the user, or give it a new role and password; True when it was created."""
    cur = conn.execute("UPDATE users SET role = ?, password_hash = ?, updated_at = ? WHERE username = ?",
                       (role, password_hash, now, username))
    if cur.rowcount:
        return False
    conn.execute("INSERT INTO users (username, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                 (username, role, password_hash, now, now))
    return True


def fetch_user(conn: sqlite3.Connection, username: str) -> sqlite3.Row | None:
    return conn.execute("SELECT id, username, role, password_hash FROM users WHERE username = ?",
                        (username,)).fetchone()


def other_admins(conn: sqlite3.Connection, username: str) -> int:
    """How many users besides `username` have the admin role."""
    return conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND username != ?",
                        (username,)).fetchone()[0]


def delete_user(conn: sqlite3.Connection, username: str) -> bool:
    """Deletes the user; its tokens and sessions go with it (cascade)."""
    return conn.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount > 0


def list_users(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT id, username, role FROM users ORDER BY username").fetchall()


def list_tokens(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT user_id, public_id, created_at, last_used_at FROM api_tokens ORDER BY id").fetchall()


def insert_token(conn: sqlite3.Connection, user_id: int, public_id: str, token_hash: str, now: str) -> None:
    conn.execute("INSERT INTO api_tokens (public_id, user_id, token_hash, created_at) VALUES (?, ?, ?, ?)",
                 (public_id, user_id, token_hash, now))


def delete_token(conn: sqlite3.Connection, public_id: str) -> bool:
    return conn.execute("DELETE FROM api_tokens WHERE public_id = ?", (public_id,)).rowcount > 0


def by_token(conn: sqlite3.Connection, token_hash: str) -> sqlite3.Row | None:
    return conn.execute(
        """SELECT u.username, u.role, t.public_id, t.last_used_at FROM api_tokens t
           JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?""", (token_hash,)).fetchone()


def touch_token(conn: sqlite3.Connection, public_id: str, now: str) -> None:
    conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE public_id = ?", (now, public_id))


def insert_session(conn: sqlite3.Connection, session_hash: str, user_id: int, csrf_token: str,
                   now: str, expires: str) -> None:
    conn.execute("""INSERT INTO auth_sessions (session_hash, user_id, csrf_token, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?)""", (session_hash, user_id, csrf_token, now, expires))


def by_session(conn: sqlite3.Connection, session_hash: str, now: str) -> sqlite3.Row | None:
    return conn.execute(
        """SELECT u.username, u.role, s.csrf_token FROM auth_sessions s
           JOIN users u ON u.id = s.user_id WHERE s.session_hash = ? AND s.expires_at > ?""",
        (session_hash, now)).fetchone()


def delete_session(conn: sqlite3.Connection, session_hash: str) -> None:
    conn.execute("DELETE FROM auth_sessions WHERE session_hash = ?", (session_hash,))


def delete_expired_sessions(conn: sqlite3.Connection, now: str) -> int:
    return conn.execute("DELETE FROM auth_sessions WHERE expires_at <= ?", (now,)).rowcount
