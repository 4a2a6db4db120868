"""Worker credentials: bcrypt once, then the in-memory proof; an unknown Worker
costs the same bcrypt check as a wrong secret (no timing oracle for ids)."""

from __future__ import annotations

import base64
import uuid
from types import SimpleNamespace

import pytest

from flamenco_pkg.manager import worker_auth
from flamenco_pkg.manager.db import workers as worker_db
from flamenco_pkg.manager.db.connection import Database


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@pytest.fixture
def farm(tmp_path, monkeypatch):
    db = Database(tmp_path / "auth.sqlite")
    wid = str(uuid.uuid4())
    with db.tx() as conn:
        worker_db.insert_worker(conn, uuid=wid, secret_hash=worker_auth.hash_secret("s3cret"), name="w",
                                address="", platform="linux", supported_task_types=["misc"])
    calls = []
    real = worker_auth.bcrypt.checkpw
    monkeypatch.setattr(worker_auth.bcrypt, "checkpw", lambda pw, hashed: calls.append(hashed) or real(pw, hashed))
    yield SimpleNamespace(manager=SimpleNamespace(db=db), uuid=wid, calls=calls, auth=worker_auth.WorkerAuth())
    db.close()


def test_bcrypt_runs_once_then_the_proof_serves(farm):
    for _ in range(5):
        assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret"))["uuid"] == farm.uuid
    assert len(farm.calls) == 1


def test_unknown_worker_and_wrong_secret_both_cost_one_bcrypt_check(farm):
    assert farm.auth.authenticate(farm.manager, basic(str(uuid.uuid4()), "s3cret")) is None
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "wrong")) is None
    assert len(farm.calls) == 2


def test_a_wrong_secret_after_the_proof_is_refused_and_checked(farm):
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is not None
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret-not")) is None
    assert len(farm.calls) == 2


def test_too_long_secret_is_refused_without_an_error(farm):
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "x" * 100)) is None


def _last_seen(db, wid):
    with db.tx() as conn:
        return conn.execute("SELECT last_seen_at FROM workers WHERE uuid = ?", (wid,)).fetchone()[0]


def test_a_call_only_notes_the_worker_seen_and_the_marks_are_written_together(farm):
    before = "2020-01-01T00:00:00.000000Z"
    with farm.manager.db.tx() as conn:
        conn.execute("UPDATE workers SET last_seen_at = ? WHERE uuid = ?", (before, farm.uuid))
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is not None
    assert _last_seen(farm.manager.db, farm.uuid) == before  # no transaction of its own
    assert farm.auth.seen
    with farm.manager.db.tx() as conn:
        farm.auth.seen.write(conn)
    assert not farm.auth.seen
    assert _last_seen(farm.manager.db, farm.uuid) not in (None, before)


def test_a_mark_never_moves_last_seen_back(farm):
    with farm.manager.db.tx() as conn:
        conn.execute("UPDATE workers SET last_seen_at = '2020-01-01T00:00:00.000000Z' WHERE uuid = ?", (farm.uuid,))
    row = farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret"))
    future = "2999-01-01T00:00:00.000000Z"
    with farm.manager.db.tx() as conn:
        conn.execute("UPDATE workers SET last_seen_at = ? WHERE id = ?", (future, row["id"]))
        farm.auth.seen.write(conn)
    assert _last_seen(farm.manager.db, farm.uuid) == future


def test_a_worker_seen_within_the_second_is_not_marked_again(farm):
    with farm.manager.db.tx() as conn:
        conn.execute("UPDATE workers SET last_seen_at = ? WHERE uuid = ?",
                     (worker_auth.utcnow(), farm.uuid))
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is not None
    assert not farm.auth.seen


def test_a_remembered_header_is_checked_again_when_the_stored_hash_changed(farm):
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is not None
    with farm.manager.db.tx() as conn:  # registered again with another secret
        conn.execute("UPDATE workers SET secret = ? WHERE uuid = ?", (worker_auth.hash_secret("other"), farm.uuid))
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is None
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "other")) is not None
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "other")) is not None
    assert len(farm.calls) == 3


def test_a_forgotten_worker_runs_bcrypt_again(farm):
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is not None
    farm.auth.forget(farm.uuid)
    assert farm.auth.authenticate(farm.manager, basic(farm.uuid, "s3cret")) is not None
    assert len(farm.calls) == 2


@pytest.mark.parametrize("header", ["Basic ÿÿÿÿ", "Basic " + "é" * 8, "Basic !!!!", "Bearer x", "Basic " + base64.b64encode(b"\xff:\xfe").decode()])
def test_malformed_headers_are_refused_without_an_error(farm, header):
    assert worker_auth.parse_basic(header) is None
    assert farm.auth.authenticate(farm.manager, header) is None
