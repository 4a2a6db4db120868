"""The Manager's services in one object, handed to every route and loop."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading

import gevent.queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import config as config_mod
from . import events
from .state_machine import rules as states
from .db import jobs as job_db
from .db import workers as worker_db
from .db.connection import Database
from .events import Changes, EventBroker
from .job_types import JobTypeRegistry
from .local_storage.task_logs import TaskLogs
from .metrics import Metrics
from .variables import Variables
from .webhooks import outbox as webhook_outbox
from .worker_auth import WorkerAuth

log = logging.getLogger("flamenco.manager")


@dataclass
class Manager:
    config: config_mod.Config
    config_path: Path
    db: Database
    job_types: JobTypeRegistry
    task_logs: TaskLogs
    broker: EventBroker = field(default_factory=EventBroker)
    variables: Variables = None  # type: ignore[assignment]  # built from config in __post_init__
    # Jobs whose deletion was requested, for the job deleter loop (it also rescans).
    deletion_queue: gevent.queue.Queue = field(default_factory=lambda: gevent.queue.Queue(100))
    # Uploaded preview images waiting for the thumbnail loop (upstream: 3; full = 429).
    last_rendered_queue: gevent.queue.Queue = field(default_factory=lambda: gevent.queue.Queue(3))
    # Serialises "give me a task" and "may I keep running", as upstream does.
    scheduler_lock: threading.Lock = field(default_factory=threading.Lock)
    worker_auth: WorkerAuth = field(default_factory=WorkerAuth)
    metrics: Metrics = field(default_factory=Metrics)
    # Called with (connection, changes) inside each change() transaction, before
    # the commit: what they write commits or rolls back with the change (webhook outbox).
    tx_hooks: list[Callable[[sqlite3.Connection, Changes], None]] = field(default_factory=list)
    # Called with (old, new) after a configuration change is applied.
    config_listeners: list[Callable[[config_mod.Config, config_mod.Config], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.variables = Variables.from_config(self.config)
        self.metrics.watch_farm(self)
        self.tx_hooks.append(lambda conn, changes: webhook_outbox.record(self, conn, changes))

    @contextlib.contextmanager
    def change(self) -> Iterator[tuple[sqlite3.Connection, Changes]]:
        """One transaction; its log lines and events go out after the commit."""
        changes = Changes()
        with self.db.tx() as conn:
            yield conn, changes
            for hook in self.tx_hooks:
                hook(conn, changes)
        self.publish(changes)

    def farm_status(self) -> str:
        with self.db.tx() as conn:
            workers = worker_db.statuses_for_farm(conn)
            job_statuses = job_db.distinct_statuses(conn)
        return str(states.farm_status(workers, job_statuses))

    def publish(self, changes: Changes) -> None:
        for job_uuid, task_uuid, text, stamp in changes.logs:
            self.append_task_log(job_uuid, task_uuid, text, timestamp=stamp)
        for event, room, payload in changes.events:
            self.broker.publish(event, room, payload)

    def append_task_log(self, job_uuid: str, task_uuid: str, text: str, *, timestamp: bool) -> None:
        if timestamp:
            text = TaskLogs.timestamped(text)
        try:
            written = self.task_logs.append(job_uuid, task_uuid, text)
        except OSError as exc:
            log.error("cannot write the log of task %s: %s", task_uuid, exc)
            return
        if written:
            self.broker.publish(*events.task_log(task_uuid, written))


def open_manager(config: config_mod.Config, config_path: Path, base_dir: Path,
                 scripts_dir: Path | None) -> Manager:
    """Open the database and storage named by the config."""
    storage_root = config_mod.resolve_local_storage_path(config, base_dir)
    storage_root.mkdir(parents=True, exist_ok=True)
    db = Database(Path(config.database.strip()).expanduser().absolute())
    return Manager(
        config=config,
        config_path=config_path,
        db=db,
        job_types=JobTypeRegistry(scripts_dir),
        task_logs=TaskLogs(storage_root),
    )
