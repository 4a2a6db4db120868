"""A job's status change reads its tasks' statuses only where the cascade needs them: a 100,000-task job
becoming active on its first hand-out must not read 100,000 rows on the event loop."""

from __future__ import annotations

import uuid

import pytest

from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.context import open_manager
from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db.connection import utcnow
from flamenco_pkg.manager.events import Changes
from flamenco_pkg.manager.state_machine.apply import change_job_status

STATUS_READ = "SELECT id, status FROM tasks WHERE job_id"


@pytest.fixture
def manager(tmp_path):
    cfg = Config(database=str(tmp_path / "db.sqlite"), local_manager_storage_path=str(tmp_path / "storage"),
                 shared_storage_path=str(tmp_path))
    m = open_manager(cfg, tmp_path / "flamenco-manager.yaml", tmp_path, None)
    yield m
    m.db.close()


def queued_job(manager, n_tasks: int = 3) -> int:
    with manager.db.tx() as conn:
        job_id = job_db.insert_job(conn, uuid=str(uuid.uuid4()), name="j", job_type="echo-sleep-test",
                                   priority=50, status="queued", settings={}, metadata={}, worker_tag_id=None,
                                   shaman_checkout_id="", created_at=utcnow())
        task_db.insert_tasks(conn, job_id, utcnow(), [
            {"uuid": str(uuid.uuid4()), "name": f"t{i}", "type": "misc", "priority": 50, "commands": [],
             "steps_total": 1} for i in range(n_tasks)])
    return job_id


def statements_of(manager, new_status: str, job_id: int) -> list[str]:
    seen: list[str] = []
    with manager.db.tx() as conn:
        conn.set_trace_callback(seen.append)
        try:
            change_job_status(conn, Changes(), job_id, new_status, "test")
        finally:
            conn.set_trace_callback(None)
    return seen


def test_a_job_becoming_active_reads_no_task_rows(manager):
    job_id = queued_job(manager)
    assert not any(STATUS_READ in sql for sql in statements_of(manager, "active", job_id))
    with manager.db.tx() as conn:
        assert job_db.fetch_by_id(conn, job_id)["status"] == "active"


def test_a_job_being_canceled_reads_its_tasks_and_cancels_them(manager):
    job_id = queued_job(manager)
    assert any(STATUS_READ in sql for sql in statements_of(manager, "cancel-requested", job_id))
    with manager.db.tx() as conn:
        assert set(job_db.task_statuses(conn, job_id).values()) == {"canceled"}
        assert job_db.fetch_by_id(conn, job_id)["status"] == "canceled"
