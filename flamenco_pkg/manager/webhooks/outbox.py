"""Writes webhook deliveries into the outbox inside the transaction of the status change.

Runs as a `Manager.tx_hooks` entry: after the change's own writes, before its
commit. So the change and its deliveries commit together: a Manager killed
right after the commit still has them, and a rolled-back change sends none.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from ..db import jobs as job_db
from ..db import webhooks as webhook_db
from ..db.connection import from_db_time, utcnow
from ..events import Changes
from . import messages

log = logging.getLogger("flamenco.webhooks")


def record(manager: Any, conn: sqlite3.Connection, changes: Changes) -> None:
    """Queue one delivery per configured hook for each job/worker status change in `changes`.

    A problem here is logged, never raised: a webhook must not undo a status change.
    """
    hooks = manager.config.webhooks
    if not hooks:
        return
    for event, _room, payload in changes.events:
        kind = messages.webhook_event(event, payload)
        targets = [hook for hook in hooks if kind in hook.events] if kind else []
        if not targets:
            continue
        try:
            now = utcnow()
            data_text = _text(conn, kind, payload, now)
            data = messages.body(kind, payload, data_text)
            for hook in targets:
                webhook_db.enqueue(conn, created_at=now, url=hook.url, event=kind, body=data,
                                   signature=messages.signature(hook.secret, data))
        except Exception:  # noqa: BLE001
            log.exception("cannot queue the %s webhook for %s", kind, payload.get("id"))


def _text(conn: sqlite3.Connection, kind: str, payload: dict[str, Any], now: str) -> str:
    if kind == "worker-status":
        return messages.worker_text(payload)
    job = job_db.fetch_by_uuid(conn, payload["id"])
    if job is None:
        return messages.job_text(payload, took_s=None, frames=None, task_counts={})
    took = from_db_time(now) - from_db_time(job["created_at"])
    settings = job_db.decode_json(job["settings"])
    frames = messages.frame_count(settings.get("frames")) if isinstance(settings, dict) else None
    return messages.job_text(payload, took_s=took.total_seconds(), frames=frames,
                             task_counts=dict(job_db.status_and_task_counts(conn, job["id"])[1]))
