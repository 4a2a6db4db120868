"""Webhook deliveries: which events fire, the text people read, the signature, the back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

from flamenco_pkg.manager.webhooks import messages as m

JOB = {"id": "5e0c4b3e-0000-4000-8000-000000000001", "name": "shot_010", "status": "completed",
       "previous_status": "active", "type": "simple-blender-render", "priority": 50, "refresh_tasks": False,
       "steps_completed": 240, "steps_total": 240, "updated": "2026-01-01T00:00:00Z"}


def test_only_real_status_changes_fire():
    assert m.webhook_event("/jobs", JOB) == "job-status"
    assert m.webhook_event("/jobs", {**JOB, "previous_status": None}) is None  # creation
    assert m.webhook_event("/jobs", {k: v for k, v in JOB.items() if k != "previous_status"}) is None
    assert m.webhook_event("/jobs", {**JOB, "previous_status": "completed"}) is None  # no change
    assert m.webhook_event("/jobs", {**JOB, "was_deleted": True}) is None
    worker = {"id": "w", "name": "r1", "status": "offline", "previous_status": "awake"}
    assert m.webhook_event("/workers", worker) == "worker-status"
    assert m.webhook_event("/task", {**JOB}) is None  # task changes are not webhook events
    assert m.webhook_event("/lifecycle", {"type": "manager-startup"}) is None


def test_frame_count():
    assert m.frame_count("1-240") == 240
    assert m.frame_count("1-10,20,30-35") == 10 + 1 + 6
    for bad in ("", "10-1", "a-b", None, 42, "1-"):
        assert m.frame_count(bad) is None


def test_human_duration():
    assert m.human_duration(42.7) == "42 s"
    assert m.human_duration(12 * 60 + 5) == "12 min"
    assert m.human_duration(72 * 60) == "1 h 12 min"
    assert m.human_duration(3600) == "1 h"
    assert m.human_duration(51 * 3600) == "2 d 3 h"
    assert m.human_duration(-5) == "0 s"


def test_texts():
    assert m.job_text(JOB, took_s=72 * 60, frames=240, task_counts={"completed": 24}) == \
        "Job 'shot_010' completed: 240 frames in 1 h 12 min"
    assert m.job_text(JOB, took_s=30, frames=None, task_counts={"completed": 1}) == \
        "Job 'shot_010' completed: 1 task in 30 s"
    failed = {**JOB, "status": "failed"}
    assert m.job_text(failed, took_s=600, frames=240, task_counts={"failed": 2, "completed": 8}) == \
        "Job 'shot_010' failed after 10 min: 2 of 10 tasks failed"
    paused = {**JOB, "status": "paused", "previous_status": "pause-requested"}
    assert m.job_text(paused, took_s=1, frames=None, task_counts={}) == \
        "Job 'shot_010' is now paused (was pause-requested)"
    assert m.worker_text({"id": "w", "name": "render-01", "status": "offline", "previous_status": "awake"}) == \
        "Worker 'render-01' is now offline (was awake)"


def test_body_and_signature():
    data = m.body("job-status", JOB, "Job 'shot_010' completed")
    assert json.loads(data) == {"event": "job-status", "job": JOB, "text": "Job 'shot_010' completed"}
    worker = json.loads(m.body("worker-status", {"id": "w"}, "t"))
    assert worker == {"event": "worker-status", "worker": {"id": "w"}, "text": "t"}
    expected = hmac.new(b"a-shared-secret", data, hashlib.sha256).hexdigest()
    assert m.signature("a-shared-secret", data) == "sha256=" + expected
    assert m.signature("", data) == ""  # no secret: no header


def test_back_off_grows_to_half_an_hour_and_gives_up_after_a_day():
    delays = [m.retry_delay(n).total_seconds() for n in range(1, 13)]
    assert delays[:4] == [2, 4, 8, 16]
    assert delays == sorted(delays) and delays[-1] == 30 * 60
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert not m.gives_up(start, start + timedelta(hours=23, minutes=59))
    assert m.gives_up(start, start + timedelta(days=1))
