"""Users and rights (issue 14), the pure parts: the permission table, credentials, limits, audit details."""

from __future__ import annotations

import io
from argparse import Namespace
from pathlib import Path

import pytest

from flamenco_pkg.api.spec import route_table
from flamenco_pkg.manager.auth import audit, credentials
from flamenco_pkg.manager.auth import commands
from flamenco_pkg.manager.auth.permissions import (OPERATIONS, Permission, Role, allows, may_change_job,
                                                   rule_for_path)
from flamenco_pkg.manager.auth.ratelimit import LoginLimiter
from flamenco_pkg.manager.auth.reference import table_in, with_table
from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.db import users as user_db
from flamenco_pkg.manager.db.connection import Database
from flamenco_pkg.manager.http_peer import request_is_https

DOCS = Path(__file__).resolve().parents[2] / "docs" / "auth.md"


def test_every_operation_of_the_spec_has_a_permission_and_no_other() -> None:
    spec_ops = {op.operation_id for op in route_table()}
    assert set(OPERATIONS) == spec_ops


def test_the_docs_table_is_the_code_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert with_table(text) == text, "docs/auth.md is out of date: run `make docs`"
    for op_id in OPERATIONS:
        assert f"| `{op_id}` |" in table_in(text)


def test_worker_calls_never_take_a_user_and_writes_are_audited() -> None:
    for op in route_table():
        rule = OPERATIONS[op.operation_id]
        assert (rule.permission is Permission.WORKER_SECRET) == op.secured, op.operation_id
        if rule.audited:
            assert op.method != "GET", op.operation_id


@pytest.mark.parametrize("role, permission, ok", [
    ("viewer", Permission.VIEW, True), ("viewer", Permission.SUBMIT, False),
    ("artist", Permission.SUBMIT, True), ("artist", Permission.OWN_JOB, True), ("artist", Permission.FARM, False),
    ("manager", Permission.FARM, True), ("manager", Permission.ADMIN, False), ("admin", Permission.ADMIN, True),
    ("worker", Permission.VIEW, False), ("worker", Permission.REGISTER, True), ("admin", Permission.REGISTER, True),
    ("manager", Permission.REGISTER, False), ("admin", Permission.WORKER_SECRET, False),
    ("worker", Permission.SIGNED_IN, True), ("viewer", Permission.PUBLIC, True),
])
def test_roles(role: str, permission: Permission, ok: bool) -> None:
    assert allows(role, permission) is ok


def test_artists_change_only_their_own_jobs() -> None:
    assert may_change_job(Role.ARTIST, "ada", "ada")
    assert not may_change_job(Role.ARTIST, "ada", "bob")
    assert not may_change_job(Role.ARTIST, "ada", None)  # submitted while auth was off
    assert may_change_job(Role.MANAGER, "mo", "bob") and may_change_job(Role.ADMIN, "root", None)
    assert not may_change_job(Role.VIEWER, "ada", "ada") and not may_change_job(Role.WORKER, "w", "w")


def test_routes_outside_the_api() -> None:
    assert rule_for_path("/metrics") is Permission.VIEW
    assert rule_for_path("/job-files/<path:path>") is Permission.VIEW
    assert rule_for_path("/metrics-other") is Permission.PUBLIC
    assert rule_for_path("/app/<path:path>") is Permission.PUBLIC


def test_login_limiter_per_address_with_a_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(max_failures=5, window_s=60, clock=lambda: now[0])
    for _ in range(4):
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 60
    assert limiter.retry_after("10.0.0.2") == 0
    now[0] += 59.5
    assert limiter.retry_after("10.0.0.1") == 1
    now[0] += 1
    assert limiter.retry_after("10.0.0.1") == 0
    limiter.failed("10.0.0.3")
    limiter.succeeded("10.0.0.3")
    assert "10.0.0.3" not in limiter._failures


def test_login_limiter_memory_is_bounded() -> None:
    limiter = LoginLimiter(max_addresses=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._failures) <= 100


def test_credentials_on_the_wire() -> None:
    assert credentials.parse_bearer("Bearer abc ") == "abc"
    assert credentials.parse_bearer("bearer abc") == "abc"
    assert credentials.parse_bearer("Basic abc") is None and credentials.parse_bearer("Bearer ") is None
    assert credentials.session_from_cookies("a=1; flamenco_session=xyz; b=2") == "xyz"
    assert credentials.session_from_cookies("a=1") is None
    assert credentials.session_from_cookies('flamenco_session="unterminated') is None
    cookie = credentials.session_cookie("xyz", secure=False)
    assert cookie == "flamenco_session=xyz; HttpOnly; SameSite=Strict; Path=/"
    assert credentials.session_cookie("xyz", secure=True).endswith("; Secure")
    assert "Max-Age=0" in credentials.cleared_cookie(secure=False)
    public_id, token = credentials.new_token()
    assert token.startswith("flm_") and len(token) > 40 and len(public_id) == 16
    assert credentials.digest(token) != credentials.digest(token + "x")


def test_passwords() -> None:
    assert credentials.password_problem("short") and credentials.password_problem("x" * 73)
    assert credentials.password_problem("long enough") is None
    hashed = credentials.hash_password("long enough")
    assert hashed.startswith("$2") and credentials.check_password("long enough", hashed)
    assert not credentials.check_password("wrong one", hashed)
    assert not credentials.check_password("long enough", None)  # unknown user


def test_https_only_from_the_server_or_a_trusted_proxy() -> None:
    assert request_is_https({"wsgi.url_scheme": "https"}, [])
    proxied = {"wsgi.url_scheme": "http", "REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_PROTO": "https"}
    assert not request_is_https(proxied, [])
    assert request_is_https(proxied, ["10.0.0.0/8"])
    assert not request_is_https({**proxied, "HTTP_X_FORWARDED_PROTO": "http"}, ["10.0.0.0/8"])


def test_audit_details_never_hold_secrets() -> None:
    assert audit.details_of("saveUser", {"username": "a", "role": "viewer", "password": "p"}) == {
        "username": "a", "role": "viewer"}
    assert audit.details_of("registerWorker", {"name": "w", "secret": "s"}) == {"name": "w"}
    assert audit.details_of("updateConfigurationFile", {"mqtt": {"password": "p"}}) is None
    assert audit.details_of("removeJobBlocklist", [{"worker_id": "x"}]) == {"entries": [{"worker_id": "x"}]}
    assert audit.details_of("setJobStatus", {"reason": "x" * 5000}) == {"truncated": True}
    assert audit.details_of("deleteJob", b"") is None


def _args(**kw) -> Namespace:
    base = dict(add_user="", role="", new_token="", revoke_token="", delete_user="", list_users=False)
    return Namespace(**{**base, **kw})


def test_command_line_refusals_and_listing(tmp_path: Path) -> None:
    config = Config(database=str(tmp_path / "flamenco-manager.sqlite"))
    run = lambda stdin="", **kw: commands.run(_args(**kw), config, stdin=io.StringIO(stdin), out=out)  # noqa: E731
    out = io.StringIO()
    assert run("long enough\n", add_user="ada", role="wizard") == 1
    assert run("short\n", add_user="ada", role="artist") == 1
    assert run("long enough\n", add_user="ada") == 1  # needs -role
    assert run("long enough\n", add_user="ada", role="artist") == 0
    assert run(new_token="ada") == 0
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("flm_")
    assert run(new_token="nobody") == 1
    assert run(revoke_token="0123abcd") == 1
    out.truncate(0)
    out.seek(0)
    assert run(list_users=True) == 0
    name, role, token_ids = out.getvalue().strip().split("\t")
    assert (name, role) == ("ada", "artist") and len(token_ids) == 16
    assert run(revoke_token=token_ids) == 0
    assert run(new_token="ada") == 0
    assert run(delete_user="ada") == 0 and run(delete_user="ada") == 1
    db = Database(Path(config.database))
    try:  # the user's tokens and sessions went with it
        assert db.lookup(user_db.list_tokens) == [] and db.lookup(user_db.list_users) == []
    finally:
        db.close()


def test_a_settings_document_without_auth_keeps_it_on() -> None:
    from flamenco_pkg.manager.config import config_to_dict
    from flamenco_pkg.manager.config.setup_assistant import config_from_request

    current = Config()
    current.auth.enabled = True
    body = config_to_dict(current)
    del body["auth"]
    assert config_from_request(body, current).auth.enabled is True
    assert config_from_request({**body, "auth": {"enabled": False}}, current).auth.enabled is False


def test_the_last_admin_can_be_neither_demoted_nor_deleted(tmp_path: Path) -> None:
    """Else nobody could manage users any more (only the command line on the Manager's machine)."""
    from flamenco_pkg.manager.auth import accounts
    from flamenco_pkg.manager.errors import ManagerError

    db = Database(tmp_path / "admins.sqlite")
    try:
        accounts.save_user(db, "ada", "admin", "long enough 1")
        for attempt in (lambda: accounts.save_user(db, "ada", "manager", "long enough 1"),
                        lambda: accounts.delete_user(db, "ada")):
            with pytest.raises(ManagerError) as refused:
                attempt()
            assert refused.value.status == 409 and "last admin" in refused.value.message
        assert [(u["username"], u["role"]) for u in db.lookup(user_db.list_users)] == [("ada", "admin")]
        accounts.save_user(db, "bob", "admin", "long enough 2")
        accounts.save_user(db, "ada", "manager", "long enough 1")  # bob is admin now
        with pytest.raises(ManagerError):
            accounts.delete_user(db, "bob")
        accounts.delete_user(db, "ada")
    finally:
        db.close()
