"""Recording who changed what (issue 14), in the change's own transaction where there is one.

`app.py` opens an entry for an audited operation by a user (`begin`); the
Manager's transaction hook writes it inside the request's first `change()`
transaction, so the entry commits or rolls back with the change. A request
whose change goes through other paths (job deletion requests, users and
tokens) gets its entry in a transaction of its own once the handler
succeeded (`finish`); a refused request leaves none. Entries live in a
greenlet-local, as each request runs in its own greenlet.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

import gevent.local

from ..db import audit as audit_db
from ..db.connection import utcnow

log = logging.getLogger("flamenco.audit")

# Request fields never written to the log.
SECRET_KEYS = frozenset({"password", "secret", "token", "worker_secret"})
# Whole bodies not worth keeping (a configuration file): the operation says enough.
NO_DETAILS = frozenset({"updateConfigurationFile", "saveSetupAssistantConfig"})
# Path parameters that name what a request is about, in order of preference.
TARGET_PARAMS = ("job_id", "task_id", "worker_id", "tag_id", "username", "token_id")
MAX_DETAILS = 4000  # characters of JSON
# Operations whose target is known from the answer; recorded after the handler (submission
# spans many transactions, and only a successful one is worth an entry).
FROM_RESULT = {"submitJob": "id", "registerWorker": "uuid", "createWorkerTag": "id", "createUserToken": "id"}

_current = gevent.local.local()
# Greenlets holding an entry: with none (auth off, a Worker's request), a transaction skips the
# greenlet-local look-up, which costs more than the rest of the hook.
_open = 0


@dataclass
class Entry:
    username: str
    operation: str
    target: str
    job_uuid: str | None
    task_uuid: str | None
    details: dict[str, Any] | None
    in_tx: bool
    written: bool = False


def details_of(operation: str, body: Any) -> dict[str, Any] | None:
    """What was asked for, without secrets; None when it says nothing or is too big (pure)."""
    if operation in NO_DETAILS:
        return None
    if isinstance(body, dict):
        details = {k: v for k, v in body.items() if k not in SECRET_KEYS}
    elif isinstance(body, list):
        details = {"entries": body}
    else:
        return None
    if not details:
        return None
    if len(json.dumps(details, default=str)) > MAX_DETAILS:
        return {"truncated": True}
    return details


def begin(username: str, operation: str, path: dict[str, Any], body: Any) -> None:
    global _open
    if getattr(_current, "entry", None) is None:
        _open += 1
    target = next((str(path[p]) for p in TARGET_PARAMS if path.get(p)), "")
    _current.entry = Entry(username=username, operation=operation, target=target,
                           job_uuid=path.get("job_id"), task_uuid=path.get("task_id"),
                           details=details_of(operation, body), in_tx=operation not in FROM_RESULT)


def _take() -> Entry | None:
    global _open
    entry = getattr(_current, "entry", None)
    if entry is not None:
        _open -= 1
        _current.entry = None
    return entry


def discard() -> None:
    _take()


def tx_hook(conn: sqlite3.Connection, _changes: Any) -> None:
    """A `Manager.tx_hooks` entry: the request's pending entry goes into this transaction."""
    if not _open:
        return
    entry = getattr(_current, "entry", None)
    if entry is not None and entry.in_tx and not entry.written:
        _write(conn, entry)
        entry.written = True


def finish(db, result: Any) -> None:
    """After a successful handler: write the entry if no transaction of the request took it."""
    entry = _take()
    if entry is None or entry.written:
        return
    key = FROM_RESULT.get(entry.operation)
    if key and isinstance(result, dict) and result.get(key):
        if entry.operation == "createUserToken":
            entry.details = {"token_id": result[key]}
        else:
            entry.target = str(result[key])
            if entry.operation == "submitJob":
                entry.job_uuid = entry.target
                entry.details = {k: result.get(k) for k in ("name", "type", "priority") if k in result}
    try:
        with db.tx() as conn:
            _write(conn, entry)
    except Exception:  # noqa: BLE001 — the change itself is done; say so rather than fail it
        log.exception("could not record %s by %s in the audit log", entry.operation, entry.username)


def _write(conn: sqlite3.Connection, entry: Entry) -> None:
    job_uuid = entry.job_uuid
    if job_uuid is None and entry.task_uuid:
        job_uuid = audit_db.job_uuid_of_task(conn, entry.task_uuid)
    audit_db.insert(conn, time=utcnow(), username=entry.username, operation=entry.operation, target=entry.target,
                    job_uuid=job_uuid, details=json.dumps(entry.details, separators=(",", ":"), default=str)
                    if entry.details else None)
    log.info("%s by %s%s", entry.operation, entry.username, f" on {entry.target}" if entry.target else "")
