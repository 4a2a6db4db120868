"""HTTP calls to the Manager's worker API: auth, user agent, and one error type for "unreachable".

Every caller must tell a Manager that answered (any status code) from one
that could not be reached; only the latter sends task updates to the
offline buffer. `Unreachable` is that second case.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urljoin

import requests

from flamenco_pkg import __version__

log = logging.getLogger("flamenco.worker.client")

USER_AGENT = f"Flamenco/{__version__} (python)"
# (connect, read) seconds; upstream has none, but a hung socket must not hang the Worker forever.
DEFAULT_TIMEOUT = (10.0, 120.0)


class Unreachable(Exception):
    """The request did not get an HTTP answer (refused, reset, timed out, DNS ...)."""


class ManagerClient:
    def __init__(self, manager_url: str) -> None:
        self.manager_url = manager_url if manager_url.endswith("/") else manager_url + "/"
        self.worker_base = urljoin(self.manager_url, "api/v3/worker/")
        self._local = threading.local()  # one requests.Session per thread
        self.auth: tuple[str, str] = ("", "")

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    def call(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: Any = DEFAULT_TIMEOUT) -> requests.Response:
        """One worker API call; `path` is relative to /api/v3/worker/."""
        url = urljoin(self.worker_base, path)
        # An explicit Authorization (a registration token) is not replaced by the Basic credentials.
        auth = None if headers and "Authorization" in headers else self.auth
        try:
            return self._session().request(method, url, json=json, data=data, headers=headers,
                                           auth=auth, timeout=timeout)
        except requests.RequestException as exc:
            raise Unreachable(f"{method} {url}: {_short(exc)}") from exc

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()


def _short(exc: Exception) -> str:
    """requests' messages nest urllib3's; the innermost reason is what a wrangler needs."""
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Read timed out", "Connection aborted"):
        if marker in text:
            return text[text.index(marker):].rstrip("'))\"")
    return text


def error_text(resp: requests.Response) -> str:
    """The Manager's error message, for logs."""
    try:
        body = resp.json()
        if isinstance(body, dict) and body.get("message"):
            return f"{resp.status_code} {body['message']}"
    except ValueError:
        pass
    return f"{resp.status_code} {resp.text[:200]}".strip()
