"""Errors the Manager's domain code raises; routes turn them into replies.

A `ManagerError` carries the HTTP status it means, so a domain rule decides
"conflict" or "bad input" once, and `app.py` renders Flamenco's error object
`{code, message}` from it.
"""

from __future__ import annotations


class ManagerError(Exception):
    """A refusal with the HTTP status it maps to and a message for the person."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
