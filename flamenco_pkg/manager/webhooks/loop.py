"""Sends the webhook outbox: in order per URL, retried with back-off for a day.

Each URL's oldest waiting delivery goes first; while it fails, the later
ones to that URL wait behind it, so a receiver sees events in order. URLs are
served side by side, so one slow receiver does not hold up another. The loop
wakes when a status event was published (its delivery is committed by then),
when the settings change, and when the next retry is due. HTTP runs through
requests, whose sockets the Manager's gevent monkey-patching makes cooperative.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import gevent
import gevent.event
import gevent.pool
import requests

from flamenco_pkg import __version__

from ..db import webhooks as webhook_db
from ..db.connection import from_db_time, to_db_time, utcnow
from . import messages

log = logging.getLogger("flamenco.webhooks")

CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 5, 15
LONGEST_SLEEP_S = 60.0
PARALLEL_URLS = 8


def post(session: requests.Session, row) -> str:
    """Deliver one outbox row; '' when the receiver accepted it (2xx), else what went wrong."""
    headers = {"Content-Type": "application/json", "User-Agent": f"Flamenco-Manager/{__version__}",
               "X-Flamenco-Event": row["event"], "X-Flamenco-Delivery": str(row["id"])}
    if row["signature"]:
        headers[messages.SIGNATURE_HEADER] = row["signature"]
    try:
        resp = session.post(row["url"], data=bytes(row["body"]), headers=headers,
                            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), allow_redirects=False)
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= resp.status_code < 300:
        return ""
    return f"HTTP {resp.status_code} {resp.reason or ''}".strip()


def deliver_url(manager, session: requests.Session, url: str) -> None:
    """Send `url`'s waiting deliveries in order until one fails or none is due."""
    while True:
        with manager.db.tx() as conn:
            row = webhook_db.head_of(conn, url)
        if row is None or row["next_attempt_at"] > utcnow():
            return
        error = post(session, row)
        now = datetime.now(timezone.utc)
        with manager.db.tx() as conn:
            if not error:
                webhook_db.remove(conn, row["id"])
            elif messages.gives_up(from_db_time(row["created_at"]), now):
                webhook_db.remove(conn, row["id"])
            else:
                retry = now + messages.retry_delay(row["attempts"] + 1)
                webhook_db.failed(conn, row["id"], next_attempt_at=to_db_time(retry), error=error)
        if not error:
            manager.metrics.webhook_deliveries.inc()
            if row["attempts"]:
                log.info("webhook %s to %s delivered after %d failed attempts", row["event"], url, row["attempts"])
            continue
        manager.metrics.webhook_failures.inc()
        if messages.gives_up(from_db_time(row["created_at"]), now):
            manager.metrics.webhook_given_up.inc()
            log.error("webhook %s to %s given up after a day of failures (last: %s)", row["event"], url, error)
        else:
            log.warning("webhook %s to %s failed (%s); attempt %d, retrying in %s", row["event"], url, error,
                        row["attempts"] + 1, messages.retry_delay(row["attempts"] + 1))
        return


def deliver_due(manager, session: requests.Session) -> float:
    """One round over every URL; returns the seconds until the next retry is due."""
    configured = {hook.url for hook in manager.config.webhooks}
    with manager.db.tx() as conn:
        dropped = webhook_db.drop_urls_except(conn, configured)
        heads = webhook_db.heads(conn)
    if dropped:
        log.warning("dropped %d webhook deliveries to URLs that are no longer configured", dropped)
    now = utcnow()
    due = [head["url"] for head in heads if head["next_attempt_at"] <= now]
    if due:
        pool = gevent.pool.Pool(PARALLEL_URLS)
        for url in due:
            pool.spawn(deliver_url, manager, session, url)
        pool.join()
        with manager.db.tx() as conn:
            heads = webhook_db.heads(conn)
    if not heads:
        return LONGEST_SLEEP_S
    soonest = from_db_time(min(head["next_attempt_at"] for head in heads))
    return min(LONGEST_SLEEP_S, max(0.0, (soonest - datetime.now(timezone.utc)).total_seconds()))


def run(manager, wake: gevent.event.Event) -> None:
    session = requests.Session()
    while True:
        wake.clear()
        try:
            wait = deliver_due(manager, session)
        except Exception:  # noqa: BLE001 — the loop must outlive a bad round
            log.exception("webhook delivery round failed")
            wait = LONGEST_SLEEP_S
        wake.wait(timeout=wait)


def start(manager) -> gevent.Greenlet:
    """Always running: hooks added in the settings work without a restart; old deliveries resume."""
    wake = gevent.event.Event()

    def on_event(event: str, _room: str, payload: dict) -> None:
        if messages.webhook_event(event, payload):
            wake.set()

    manager.broker.subscribe(on_event, name="the webhook loop", wants=messages.SOURCE_EVENTS.__contains__)
    manager.config_listeners.append(lambda _old, _new: wake.set())
    return gevent.spawn(run, manager, wake)
