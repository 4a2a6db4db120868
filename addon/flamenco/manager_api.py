"""Talking to the Flamenco Manager over HTTP (standard library only, no bpy).

Every failure becomes a ManagerError whose message can be shown to the artist
as is: the Manager's own `message` when it sent one, or what went wrong with
the connection.
"""

from __future__ import annotations

import json
import platform
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, BinaryIO

from .version import USER_AGENT

DEFAULT_TIMEOUT_S = 30.0


class ManagerError(Exception):
    """An answer the add-on cannot use; `status` is the HTTP status, None without one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Unreachable(ManagerError):
    """No answer at all: wrong URL, Manager not running, network trouble."""


def normalise_url(url: str) -> str:
    """`manager:8080` -> `http://manager:8080`; no trailing slash."""
    url = url.strip()
    if not url:
        raise ManagerError("No Manager URL is set; enter it in the add-on preferences")
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ManagerError(f"{url!r} is not a Manager URL like http://flamenco-manager:8080/")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def client_platform() -> str:
    """This computer's OS the way the Manager names platforms (linux, windows, darwin)."""
    return platform.system().lower()


def auth_headers(token: str) -> dict[str, str]:
    """The API token as a bearer credential; nothing at all without one (a Manager with auth off)."""
    token = token.strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def auth_problem(status: int, server_message: str, has_token: bool) -> str:
    """What an artist should read for a 401/403: what went wrong and where to fix it."""
    if status == 401 and not has_token:
        return ("The Manager requires a login: create an API token for yourself (web interface or "
                "`flamenco-manager.pyz -new-token NAME`) and enter it as Manager Token in the Flamenco "
                f"add-on preferences ({server_message})")
    if status == 401:
        return ("The Manager refused the API token in the Flamenco add-on preferences; it may have been "
                f"revoked, or belong to another Manager ({server_message})")
    return f"Not allowed by the Manager: {server_message}"


class ManagerClient:
    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S, token: str = "") -> None:
        self.url = normalise_url(url)
        self.timeout = timeout
        self.token = token.strip()

    # ------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, *, body: Any = None, data: BinaryIO | bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> tuple[int, bytes]:
        """One HTTP request; returns (status, body) for 2xx, raises ManagerError otherwise."""
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **auth_headers(self.token)}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            message = self._message(exc)
            if exc.code in (401, 403):
                message = auth_problem(exc.code, message, bool(self.token))
            raise ManagerError(message, exc.code) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"Manager cannot be reached at {self.url}: {reason}") from None

    @staticmethod
    def _message(exc: urllib.error.HTTPError) -> str:
        try:
            payload = json.loads(exc.read() or b"{}")
        except ValueError:
            payload = {}
        message = payload.get("message") if isinstance(payload, dict) else None
        return message or f"the Manager answered {exc.code} {exc.reason}"

    def get(self, path: str) -> Any:
        _status, raw = self.request("GET", path)
        return json.loads(raw) if raw else None

    def post(self, path: str, body: Any) -> Any:
        _status, raw = self.request("POST", path, body=body)
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------ API calls

    def version(self) -> dict[str, Any]:
        return self.get("/api/v3/version")

    def shared_storage(self, platform_name: str | None = None) -> dict[str, Any]:
        return self.get(f"/api/v3/configuration/shared-storage/users/{platform_name or client_platform()}")

    def job_types(self) -> list[dict[str, Any]]:
        return self.get("/api/v3/jobs/types")["job_types"]

    def worker_tags(self) -> list[dict[str, Any]]:
        return self.get("/api/v3/worker-mgt/tags").get("tags") or []

    def recent_jobs(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest jobs (a Manager without `limit`/`sort` sends all of them, oldest first)."""
        return self.get(f"/api/v3/jobs?limit={limit}&sort=-created").get("jobs") or []

    def check_job(self, job: dict[str, Any]) -> None:
        self.request("POST", "/api/v3/jobs/check", body=job)

    def submit_job(self, job: dict[str, Any]) -> dict[str, Any]:
        return self.post("/api/v3/jobs", job)

    def shaman_requirements(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.post("/api/v3/shaman/checkout/requirements", {"files": files})["files"]

    def shaman_file_status(self, sha: str, size: int) -> str:
        return self.get(f"/api/v3/shaman/files/{sha}/{size}")["status"]

    def shaman_upload(self, sha: str, size: int, stream: BinaryIO, *, can_defer: bool, filename: str) -> int:
        """Upload one file; returns 200 (stored), 208 (already there) or 425 (come back later)."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
            "X-Shaman-Can-Defer-Upload": "true" if can_defer else "false",
            "X-Shaman-Original-Filename": encode_header(filename),
        }
        try:
            status, _body = self.request("POST", f"/api/v3/shaman/files/{sha}/{size}", data=stream,
                                         headers=headers, timeout=max(self.timeout, 300.0))
        except ManagerError as exc:
            if exc.status == 425:
                return 425
            raise
        return status

    def shaman_checkout(self, files: list[dict[str, Any]], checkout_path: str) -> str:
        return self.post("/api/v3/shaman/checkout/create",
                         {"files": files, "checkoutPath": checkout_path})["checkoutPath"]


def encode_header(text: str) -> str:
    """ASCII as is, anything else as RFC 2047 UTF-8 (what the Manager expects)."""
    text = "".join(ch for ch in text if ch >= " " and ch != "\x7f")  # no header injection
    if text.isascii():
        return text
    from email.header import Header

    return Header(text, "utf-8").encode()
