"""Webhook deliveries are written in the transaction of the status change they report."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from flamenco_pkg.manager import events
from flamenco_pkg.manager.config import Config, Webhook
from flamenco_pkg.manager.context import open_manager
from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db import workers as worker_db
from flamenco_pkg.manager.db.connection import utcnow
from flamenco_pkg.manager.state_machine.apply import change_job_status

JOB_HOOK = "http://127.0.0.1:9/jobs"
WORKER_HOOK = "http://127.0.0.1:9/workers"


@pytest.fixture
def manager(tmp_path):
    cfg = Config()
    cfg.database = str(tmp_path / "outbox.sqlite")
    cfg.webhooks = [Webhook(url=JOB_HOOK, events=["job-status"], secret="a-shared-secret"),
                    Webhook(url=WORKER_HOOK, events=["worker-status", "job-status"], secret="")]
    m = open_manager(cfg, tmp_path / "flamenco-manager.yaml", tmp_path, None)
    yield m
    m.db.close()


def add_job(manager, frames: str = "1-24") -> int:
    with manager.change() as (conn, changes):
        job_id = job_db.insert_job(conn, uuid=str(uuid.uuid4()), name="shot_010", job_type="x", priority=50,
                                   status="queued", settings={"frames": frames}, metadata={}, worker_tag_id=None,
                                   shaman_checkout_id="", created_at=utcnow())
        task_db.insert_tasks(conn, job_id, utcnow(), [
            {"uuid": str(uuid.uuid4()), "name": "t", "type": "misc", "priority": 50, "commands": [],
             "steps_total": 1}])
        events.job_updated(changes, job_db.fetch_by_id(conn, job_id))  # created: not a status change
    return job_id


def outbox(manager) -> list[dict]:
    with manager.db.tx() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM webhook_outbox ORDER BY id")]


def test_a_status_change_queues_one_signed_delivery_per_hook(manager):
    job_id = add_job(manager)
    assert outbox(manager) == []  # creation is not a status change
    with manager.change() as (conn, changes):
        conn.execute("UPDATE tasks SET status = 'completed' WHERE job_id = ?", (job_id,))
        change_job_status(conn, changes, job_id, "completed", "all done")
    rows = outbox(manager)
    assert [r["url"] for r in rows] == [JOB_HOOK, WORKER_HOOK]
    assert {r["event"] for r in rows} == {"job-status"}
    body = json.loads(rows[0]["body"])
    assert body["event"] == "job-status"
    assert body["job"]["status"] == "completed" and body["job"]["previous_status"] == "queued"
    assert body["text"].startswith("Job 'shot_010' completed: 24 frames in ")
    assert rows[0]["signature"] == "sha256=" + hmac.new(b"a-shared-secret", rows[0]["body"], hashlib.sha256).hexdigest()
    assert rows[1]["signature"] == "" and rows[1]["body"] == rows[0]["body"]


def test_a_rolled_back_change_queues_nothing(manager):
    job_id = add_job(manager)
    with pytest.raises(RuntimeError):
        with manager.change() as (conn, changes):
            change_job_status(conn, changes, job_id, "canceled", "oops")
            raise RuntimeError("the request failed after the change")
    assert outbox(manager) == []
    with manager.db.tx() as conn:
        assert job_db.fetch_by_id(conn, job_id)["status"] == "queued"


def test_worker_status_changes_go_to_hooks_that_asked(manager):
    with manager.change() as (conn, changes):
        worker_id = worker_db.insert_worker(conn, uuid=str(uuid.uuid4()), secret_hash="x", name="render-01",
                                            address="", platform="linux", supported_task_types=["misc"])
        worker_db.set_status(conn, worker_id, "awake")
        events.worker_updated(changes, worker_db.fetch_by_id(conn, worker_id), previous_status="offline")
    rows = outbox(manager)
    assert [(r["url"], r["event"]) for r in rows] == [(WORKER_HOOK, "worker-status")]
    assert json.loads(rows[0]["body"])["text"] == "Worker 'render-01' is now awake (was offline)"


def test_without_hooks_nothing_is_written(manager):
    manager.config = Config()
    job_id = add_job(manager)
    with manager.change() as (conn, changes):
        change_job_status(conn, changes, job_id, "canceled", "no hooks")
    assert outbox(manager) == []
