"""Users, roles, tokens, sessions and the audit log (issue 14) on a real Manager with `auth.enabled`.

One Manager for the module; users are made with the command line (which
writes the database beside the running Manager) and the users API. The
role x operation matrix is driven by the spec's route table, so a new
operation is covered (and must be in auth/permissions.py) without editing
this file.
"""

from __future__ import annotations

import http.cookiejar
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from flamenco_pkg.api.spec import route_table
from flamenco_pkg.manager.auth.permissions import OPERATIONS, OTHER_ROUTES, Permission, Role, allows
from tests.e2e.harness import WorkerProcess
from tests.integration.farm import REPO, ManagerProcess, wait_until
from tests.openapi_check import assert_matches_own

ROLES = [r.value for r in Role]
PASSWORD = "correct horse"


def cli(manager: ManagerProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """The Manager's own command line, in its folder (same config, same database)."""
    return subprocess.run([sys.executable, str(REPO / "flamenco.py"), "manager", *args], cwd=manager.workdir,
                          input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:
        return False


class Farm:
    def __init__(self, manager: ManagerProcess, tokens: dict[str, str]) -> None:
        self.manager = manager
        self.url = manager.url
        self.tokens = tokens  # user name -> API token; the user names are the role names, plus "bob"
        self.http = requests.Session()
        self.http.cookies.set_policy(_NoCookies())  # each call says who it is itself

    def call(self, method: str, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", None) or {})
        if user is not None:
            headers.update(bearer(self.tokens[user]))
        return self.http.request(method, self.url + path, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    manager = ManagerProcess(tmp_path_factory.mktemp("auth") / "manager",
                             extra_config="auth:\n  enabled: true\ntrusted_proxies: ['127.0.0.1']\n")
    manager.start()
    try:
        made = cli(manager, "-add-user", "admin", "-role", "admin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        out = cli(manager, "-new-token", "admin")
        assert out.returncode == 0, out.stderr
        tokens = {"admin": out.stdout.strip().splitlines()[-1]}
        f = Farm(manager, tokens)
        for name, role in [(r, r) for r in ROLES if r != "admin"] + [("bob", "artist")]:
            resp = f.call("POST", "/api/v3/auth/users", "admin",
                          json={"username": name, "role": role, "password": PASSWORD})
            assert resp.status_code == 204, resp.text
            resp = f.call("POST", f"/api/v3/auth/users/{name}/tokens", "admin")
            assert resp.status_code == 200, resp.text
            tokens[name] = resp.json()["token"]
        yield f
    finally:
        manager.stop()


# ------------------------------------------------------------ the matrix

def _request_for(op) -> tuple[str, dict[str, Any]]:
    """A request for `op` that passes authentication but changes nothing: unknown IDs, or a body that fails
    validation (authentication is checked before the body is read, so a 400 proves it let the request in)."""
    path = op.path
    for name in ("job_id", "task_id", "worker_id", "tag_id"):
        path = path.replace("{" + name + "}", str(uuid.uuid4()))
    path = (path.replace("{username}", "nobody").replace("{token_id}", "0123abcd")
            .replace("{audience}", "workers").replace("{platform}", "linux").replace("{typeName}", "nope")
            .replace("{checksum}", "0" * 64).replace("{filesize}", "1"))
    kw: dict[str, Any] = {}
    if op.method in ("POST", "PUT", "PATCH"):
        kw["data"] = b'"not what this operation takes"'
        kw["headers"] = {"Content-Type": "application/json"}
    return path, kw


def _verdict(status: int, permission: Permission, role: str | None) -> str | None:
    """What is wrong with `status` for this role (None: anonymous), or None when it is right."""
    if permission is Permission.PUBLIC:
        return None if status not in (401, 403) else f"refused with {status}"
    if permission is Permission.WORKER_SECRET:  # only the Worker's own credentials, as upstream: 403
        return None if status == 403 else f"expected 403, got {status}"
    if role is None:
        return None if status == 401 else f"expected 401, got {status}"
    if allows(role, permission):
        return None if status not in (401, 403) else f"refused with {status}"
    return None if status == 403 else f"expected 403, got {status}"


def test_every_operation_by_every_role(farm: Farm) -> None:
    wrong = []
    for op in route_table():
        permission = OPERATIONS[op.operation_id].permission
        path, kw = _request_for(op)
        for role in [None, *ROLES]:
            resp = farm.call(op.method, path, role, **kw)
            problem = _verdict(resp.status_code, permission, role)
            if problem:
                wrong.append(f"{op.operation_id} as {role or 'anonymous'}: {problem} ({resp.text[:100]})")
            if resp.status_code in (401, 403):  # Flamenco's error object, as our spec documents
                assert_matches_own(op.method, path, resp.status_code, resp.json())
    assert wrong == []


def test_routes_outside_the_api(farm: Farm) -> None:
    for prefix, permission in OTHER_ROUTES:
        path = prefix if not prefix.endswith("/") else prefix + "some/file.txt"
        assert farm.call("GET", path).status_code == 401
        for role in ROLES:
            status = farm.call("GET", path, role).status_code
            assert (status == 403) == (not allows(role, permission)), (path, role, status)
    for path in ("/api/v3/version", "/app/", "/app/login", "/api/v3/openapi3.json"):
        assert farm.call("GET", path).status_code == 200, path


# ------------------------------------------------------------ sessions

def login(farm: Farm, username: str, password: str = PASSWORD, address: str = "10.0.0.1",
          **headers: str) -> requests.Response:
    return requests.post(farm.url + "/api/v3/auth/login", json={"username": username, "password": password},
                         headers={"X-Forwarded-For": address, **headers}, timeout=30)


def test_login_cookie_csrf_and_logout(farm: Farm) -> None:
    resp = login(farm, "manager")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["username"] == "manager" and body["role"] == "manager" and body["csrf_token"]
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("flamenco_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie
    session = cookie.split(";")[0]

    def call(method: str, path: str, **headers: str) -> requests.Response:
        return requests.request(method, farm.url + path, headers={"Cookie": session, **headers},
                                json={"name": f"tag-{uuid.uuid4().hex[:6]}"}, timeout=30)

    me = call("GET", "/api/v3/auth/me").json()
    assert me == {"auth_enabled": True, "username": "manager", "role": "manager", "csrf_token": body["csrf_token"]}
    refused = call("POST", "/api/v3/worker-mgt/tags")
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["message"]
    assert call("POST", "/api/v3/worker-mgt/tags", **{"X-CSRF-Token": "wrong"}).status_code == 403
    assert call("POST", "/api/v3/worker-mgt/tags", **{"X-CSRF-Token": body["csrf_token"]}).status_code == 200
    # A token needs no CSRF header: it is not sent by browsers on their own.
    assert farm.call("POST", "/api/v3/worker-mgt/tags", "manager", json={"name": "by-token"}).status_code == 200

    out = call("POST", "/api/v3/auth/logout", **{"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 204 and "Max-Age=0" in out.headers["Set-Cookie"]
    assert call("GET", "/api/v3/auth/me").status_code == 401  # ended on the server, not only in the browser


def test_secure_cookie_behind_an_https_proxy(farm: Farm) -> None:
    resp = login(farm, "viewer", address="10.0.0.2", **{"X-Forwarded-Proto": "https"})
    assert resp.status_code == 200 and "; Secure" in resp.headers["Set-Cookie"]


def test_failed_logins_are_rate_limited_per_address(farm: Farm) -> None:
    for _ in range(5):
        resp = login(farm, "viewer", "wrong password", address="10.9.9.9")
        assert resp.status_code == 401 and resp.json()["code"] == 401
    limited = login(farm, "viewer", address="10.9.9.9")  # even the right password waits now
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert login(farm, "viewer", address="10.9.9.10").status_code == 200  # another address is not held up


def test_no_credentials_or_bad_ones(farm: Farm) -> None:
    assert farm.call("GET", "/api/v3/auth/me").status_code == 401
    resp = requests.get(farm.url + "/api/v3/jobs", headers=bearer("flm_not-a-token"), timeout=30)
    assert resp.status_code == 401 and resp.json() == {"code": 401, "message": resp.json()["message"]}
    cookie = requests.get(farm.url + "/api/v3/jobs", headers={"Cookie": "flamenco_session=forged"}, timeout=30)
    assert cookie.status_code == 401


# ------------------------------------------------------------ jobs, ownership, audit

def submit(farm: Farm, user: str) -> dict:
    body = {"name": f"{user}'s job", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1}}
    resp = farm.call("POST", "/api/v3/jobs", user, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_artists_change_only_their_own_jobs_and_the_audit_log_says_who(farm: Farm) -> None:
    job = submit(farm, "artist")
    assert job["submitted_by"] == "artist"
    assert farm.call("GET", f"/api/v3/jobs/{job['id']}", "viewer").json()["submitted_by"] == "artist"
    cancel = {"status": "cancel-requested", "reason": "wrong frames"}
    bob = farm.call("POST", f"/api/v3/jobs/{job['id']}/setstatus", "bob", json=cancel)
    assert bob.status_code == 403 and "artist's job" in bob.json()["message"]
    tasks = farm.call("GET", f"/api/v3/jobs/{job['id']}/tasks", "viewer").json()["tasks"]
    task_refused = farm.call("POST", f"/api/v3/tasks/{tasks[0]['id']}/setstatus", "bob",
                             json={"status": "canceled", "reason": "not mine"})
    assert task_refused.status_code == 403
    assert farm.call("POST", f"/api/v3/jobs/{job['id']}/setpriority", "manager",
                     json={"priority": 70}).status_code == 204
    assert farm.call("POST", f"/api/v3/jobs/{job['id']}/setstatus", "artist", json=cancel).status_code == 204

    assert farm.call("GET", "/api/v3/audit", "artist").status_code == 403
    entries = farm.call("GET", f"/api/v3/audit?job_id={job['id']}", "manager").json()["entries"]
    assert [(e["user"], e["operation"]) for e in entries] == [
        ("artist", "setJobStatus"), ("manager", "setJobPriority"), ("artist", "submitJob")]
    assert entries[0]["details"] == cancel and entries[0]["target"] == job["id"] and entries[0]["job_id"] == job["id"]
    assert entries[0]["time"] >= entries[1]["time"] >= entries[2]["time"]
    assert len(farm.call("GET", "/api/v3/audit?limit=1", "admin").json()["entries"]) == 1


def test_audit_entries_never_hold_passwords(farm: Farm) -> None:
    resp = farm.call("POST", "/api/v3/auth/users", "admin",
                     json={"username": "carol", "role": "viewer", "password": "carol's secret"})
    assert resp.status_code == 204
    entries = farm.call("GET", "/api/v3/audit?limit=20", "admin").json()["entries"]
    saved = next(e for e in entries if e["operation"] == "saveUser" and e["target"] == "")
    assert saved["details"] == {"username": "carol", "role": "viewer"}
    assert "carol's secret" not in str(entries)


# ------------------------------------------------------------ command line while running

def test_command_line_changes_count_at_once(farm: Farm) -> None:
    made = cli(farm.manager, "-add-user", "dora", "-role", "artist", stdin="dora's password\n")
    assert made.returncode == 0, made.stderr
    assert login(farm, "dora", "dora's password", address="10.0.0.3").status_code == 200

    out = cli(farm.manager, "-new-token", "dora")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert requests.get(farm.url + "/api/v3/jobs", headers=bearer(token), timeout=30).status_code == 200

    listed = cli(farm.manager, "-list-users")
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("dora\t"))
    token_id = line.split("\t")[2]
    assert cli(farm.manager, "-revoke-token", token_id).returncode == 0
    assert requests.get(farm.url + "/api/v3/jobs", headers=bearer(token), timeout=30).status_code == 401


# ------------------------------------------------------------ live updates

def test_socketio_needs_a_user(farm: Farm) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(farm.url, transports=["websocket"], wait_timeout=10)
    for credentials, ok in ((farm.tokens["viewer"], True), (farm.tokens["worker"], False)):
        client = socketio.Client(reconnection=False)
        try:
            if ok:
                client.connect(farm.url, transports=["websocket"], auth={"token": credentials}, wait_timeout=10)
                assert client.connected
            else:
                with pytest.raises(socketio.exceptions.ConnectionError):
                    client.connect(farm.url, transports=["websocket"], auth={"token": credentials}, wait_timeout=10)
        finally:
            client.disconnect()
    cookie = login(farm, "viewer", address="10.0.0.4").headers["Set-Cookie"].split(";")[0]
    client = socketio.Client(reconnection=False)
    try:
        client.connect(farm.url, transports=["websocket"], headers={"Cookie": cookie}, wait_timeout=10)
        assert client.connected
    finally:
        client.disconnect()


# ------------------------------------------------------------ Workers

def test_worker_registration_needs_a_worker_token(farm: Farm, tmp_path: Path) -> None:
    without = WorkerProcess(tmp_path / "without", farm.url, name="no-token")
    done = without.run(timeout=60)
    assert done.returncode == 1
    assert "refused to register" in done.stdout + done.stderr

    # (An artist's token is refused too: see the matrix.)
    worker = WorkerProcess(tmp_path / "with", farm.url, name="with-token", args=["-token", farm.tokens["worker"]])
    try:
        worker.start()

        def awake() -> bool:
            workers = farm.call("GET", "/api/v3/worker-mgt/workers", "viewer").json()["workers"]
            return any(w["name"] == "with-token" and w["status"] == "awake" for w in workers)

        wait_until(awake, deadline_s=30, what="the Worker with a token to register and sign on")
    finally:
        worker.stop()
    entries = farm.call("GET", "/api/v3/audit?limit=50", "admin").json()["entries"]
    assert any(e["operation"] == "registerWorker" and e["user"] == "worker" for e in entries)


# ------------------------------------------------------------ switched off (last: it changes the farm)

def test_switched_off_at_run_time_everyone_is_an_anonymous_admin(farm: Farm) -> None:
    settings = farm.call("GET", "/api/v3/configuration/file", "admin").json()
    assert settings["auth"] == {"enabled": True}
    without = {k: v for k, v in settings.items() if k != "auth"}
    assert farm.call("PUT", "/api/v3/configuration/file", "admin", json=without).status_code == 204
    assert farm.call("GET", "/api/v3/auth/me").status_code == 401  # leaving the key out keeps it on

    settings["auth"] = {"enabled": False}
    assert farm.call("PUT", "/api/v3/configuration/file", "admin", json=settings).status_code == 204
    me = farm.call("GET", "/api/v3/auth/me")
    assert me.json() == {"auth_enabled": False, "username": "", "role": "admin", "csrf_token": ""}
    assert farm.call("GET", "/api/v3/jobs").status_code == 200
    assert farm.call("POST", "/api/v3/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 400
    before = farm.call("GET", "/api/v3/audit").json()["entries"]
    assert farm.call("POST", "/api/v3/worker-mgt/tags", json={"name": "anonymous"}).status_code == 200
    assert farm.call("GET", "/api/v3/audit").json()["entries"] == before  # nobody to record
    assert "auth:\n  enabled: false" in (farm.manager.workdir / "flamenco-manager.yaml").read_text()
