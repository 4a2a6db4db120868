"""What a webhook delivery says, how it is signed and when it is retried (pure; no I/O).

A delivery is a JSON POST `{"event", "job" | "worker", "text"}`: the object is
the payload of the matching live-update event, `text` a line for people that
Slack- and Mattermost-style incoming webhooks show as is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

SIGNATURE_HEADER = "X-Flamenco-Signature"
RETRY_FOR = timedelta(days=1)
FIRST_RETRY_S = 2
LONGEST_RETRY_S = 30 * 60
SOURCE_EVENTS = frozenset({"/jobs", "/workers"})  # the live-update events `webhook_event` turns into hooks


def webhook_event(event: str, payload: dict[str, Any]) -> str | None:
    """`job-status` / `worker-status` when a live-update event is a status change, else None.

    Creation (no `previous_status`), progress and other updates are not.
    """
    previous = payload.get("previous_status")
    if not previous or previous == payload.get("status"):
        return None
    if event == "/jobs" and not payload.get("was_deleted"):
        return "job-status"
    if event == "/workers":
        return "worker-status"
    return None


def frame_count(frames: Any) -> int | None:
    """Frames in a range like `1-240` or `1-10,20,30-35`; None when it is not one."""
    if not isinstance(frames, str) or not frames.strip():
        return None
    total = 0
    for part in frames.split(","):
        start, dash, end = part.strip().partition("-")
        try:
            first, last = int(start), int(end) if dash else int(start)
        except ValueError:
            return None
        if last < first:
            return None
        total += last - first + 1
    return total


def human_duration(seconds: float) -> str:
    """42 s, 12 min, 1 h 12 min, 2 d 3 h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def job_text(job: dict[str, Any], *, took_s: float | None, frames: int | None,
             task_counts: dict[str, int]) -> str:
    """"Job 'shot_010' completed: 240 frames in 1 h 12 min" and the like."""
    name, status = job.get("name", job["id"]), job["status"]
    took = f" in {human_duration(took_s)}" if took_s is not None else ""
    total = sum(task_counts.values())
    if status == "completed":
        what = f"{frames} frames" if frames else f"{total} task{'s' if total != 1 else ''}"
        return f"Job '{name}' completed: {what}{took}"
    if status == "failed":
        after = f" after {human_duration(took_s)}" if took_s is not None else ""
        return f"Job '{name}' failed{after}: {task_counts.get('failed', 0)} of {total} tasks failed"
    return f"Job '{name}' is now {status} (was {job['previous_status']})"


def worker_text(worker: dict[str, Any]) -> str:
    return f"Worker '{worker.get('name') or worker['id']}' is now {worker['status']} (was {worker['previous_status']})"


def body(kind: str, obj: dict[str, Any], text: str) -> bytes:
    """The exact bytes POSTed (and signed)."""
    key = "job" if kind == "job-status" else "worker"
    return json.dumps({"event": kind, key: obj, "text": text}, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def signature(secret: str, data: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`; '' without a secret (the header is then left out)."""
    if not secret:
        return ""
    return "sha256=" + hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def retry_delay(failures: int) -> timedelta:
    """Back-off after the n-th failed attempt: 2 s, 4 s, 8 s, ... at most 30 min."""
    return timedelta(seconds=min(LONGEST_RETRY_S, FIRST_RETRY_S * 2 ** max(0, failures - 1)))


def gives_up(created_at: datetime, now: datetime) -> bool:
    """A delivery that still fails a day after its event is abandoned."""
    return now - created_at >= RETRY_FOR
