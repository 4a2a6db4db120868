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
