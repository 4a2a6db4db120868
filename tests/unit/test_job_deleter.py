"""The job deleter on a real SQLite file and real folders: no orphan folders, no stuck deletions."""

from __future__ import annotations

import os
import uuid

import pytest

from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.context import open_manager
from flamenco_pkg.manager.events import Changes
from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db.connection import utcnow
from flamenco_pkg.manager.job_deleter.deletion import delete_job


@pytest.fixture
def manager(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    cfg = Config(database=str(tmp_path / "db.sqlite"), local_manager_storage_path=str(tmp_path / "storage"),
                 shared_storage_path=str(shared))
    cfg.shaman.enabled = True
    m = open_manager(cfg, tmp_path / "flamenco-manager.yaml", tmp_path, None)
    yield m
    m.db.close()


def add_job(manager, checkout_id: str = "") -> tuple[int, str, str]:
    job_uuid, task_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    with manager.db.tx() as conn:
        job_id = job_db.insert_job(conn, uuid=job_uuid, name="j", job_type="echo-sleep-test", priority=50,
                                   status="queued", settings={}, metadata={}, worker_tag_id=None,
                                   shaman_checkout_id=checkout_id, created_at=utcnow())
        task_db.insert_tasks(conn, job_id, utcnow(), [{"uuid": task_uuid, "name": "t", "type": "misc",
                                                       "priority": 50, "commands": [], "steps_total": 1}])
        job_db.request_deletion(conn, job_id)
    return job_id, job_uuid, task_uuid


def job_exists(manager, job_id: int) -> bool:
    with manager.db.tx() as conn:
        return job_db.fetch_by_id(conn, job_id) is not None


def _log(manager, job_uuid: str, task_uuid: str, text: str, *, by_worker: bool) -> None:
    changes = Changes()
    changes.log(job_uuid, task_uuid, text, timestamp=not by_worker)
    manager.publish(changes)
    manager.task_logs.flush()


def test_a_late_log_line_leaves_no_orphan_folder(manager):
    job_id, job_uuid, task_uuid = add_job(manager)
    _log(manager, job_uuid, task_uuid, "rendering", by_worker=True)
    job_dir = manager.task_logs.logs.path_of_job(job_uuid)
    assert job_dir.is_dir()

    assert delete_job(manager, job_id) is True
    assert not job_exists(manager, job_id) and not job_dir.exists()
    # A log line published after the deletion (a request that committed before it).
    _log(manager, job_uuid, task_uuid, "a late line", by_worker=False)
    assert not job_dir.exists() and not job_dir.parent.exists()


def test_checkout_is_removed_with_the_job(manager):
    checkout = manager.config.shared_storage_path + "/jobs/project/scene-1"
    os.makedirs(checkout)
    job_id, _, _ = add_job(manager, "project/scene-1")
    assert delete_job(manager, job_id) is True
    assert not os.path.exists(checkout) and not job_exists(manager, job_id)


def test_an_invalid_stored_checkout_id_does_not_block_deletion(manager, tmp_path):
    """Stored before submissions checked it: it names no checkout, so the job is just deleted."""
    outside = tmp_path / "shared" / "x"
    outside.mkdir()
    job_id, _, _ = add_job(manager, "../x")
    assert delete_job(manager, job_id) is True
    assert not job_exists(manager, job_id)
    assert outside.is_dir()  # nothing outside the checkout root was touched
