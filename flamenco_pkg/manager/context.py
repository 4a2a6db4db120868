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
from .db import scheduling
from .db import workers as worker_db
from .db.connection import Database
from .disk_full import DiskFull, DiskWatch, is_disk_full
from .events import Changes, EventBroker
from .job_types import JobTypeRegistry
from .local_storage.task_log_writer import TaskLogWriter
from .local_storage.task_logs import TaskLogs
from .scheduler import wakeups
from .scheduler.waiters import Waiters
from .metrics import Metrics
from .variables import Variables
from .webhooks import outbox as webhook_outbox
from .worker_auth import WorkerAuth
from .auth import Auth
from .auth import audit

log = logging.getLogger("flamenco.manager")


@dataclass
class Manager:
    config: config_mod.Config
    config_path: Path
    db: Database
    job_types: JobTypeRegistry
    task_logs: TaskLogWriter
    broker: EventBroker = field(default_factory=EventBroker)
    variables: Variables = None  # type: ignore[assignment]  # built from config in __post_init__
    # Jobs whose deletion was requested, for the job deleter loop (it also rescans).
    deletion_queue: gevent.queue.Queue = field(default_factory=lambda: gevent.queue.Queue(100))
    # Uploaded preview images waiting for the thumbnail loop (upstream: 3; full = 429).
    last_rendered_queue: gevent.queue.Queue = field(default_factory=lambda: gevent.queue.Queue(3))
    # Serialises "give me a task" and "may I keep running", as upstream does.
    scheduler_lock: threading.Lock = field(default_factory=threading.Lock)
    worker_auth: WorkerAuth = field(default_factory=WorkerAuth)
    # Users and their rights (with auth.enabled); the users themselves live in the database.
    auth: Auth = field(default_factory=Auth)
    # Held "give me a task" requests (long-poll), woken by events after commits.
    waiters: Waiters = None  # type: ignore[assignment]  # built in __post_init__
    # Disks found full (507 answers, the farm status' disk_full).
    disk: DiskWatch = field(default_factory=DiskWatch)
    metrics: Metrics = field(default_factory=Metrics)
    # Called with (connection, changes) inside each change() transaction, before
    # the commit: what they write commits or rolls back with the change (webhook outbox).
    tx_hooks: list[Callable[[sqlite3.Connection, Changes], None]] = field(default_factory=list)
    # Called with (old, new) after a configuration change is applied.
    config_listeners: list[Callable[[config_mod.Config, config_mod.Config], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.variables = Variables.from_config(self.config)
        self.task_logs.on_written = self._logs_written
        self.db.on_full = lambda _exc: self.disk.full(self.db.path, "database")
        # A hang-up wakes its request at once (see app.py), so the check need not poll often.
        self.waiters = Waiters(cancel_poll_s=30, work_left=self._any_runnable)
        self.broker.subscribe(wakeups.subscriber(self.waiters), name="the long-poll wake-ups",
                              wants=wakeups.EVENTS.__contains__)
        self.metrics.watch_farm(self)
        self.tx_hooks.append(lambda conn, changes: webhook_outbox.record(self, conn, changes))
        self.tx_hooks.append(audit.tx_hook)  # a user's request: its audit entry commits with its change

    def _any_runnable(self) -> bool:
        with self.db.tx() as conn:
            return scheduling.any_runnable(conn)

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
        workers, job_statuses = self.db.read(_farm_status_inputs)
        return str(states.farm_status(workers, job_statuses))

    def farm_status_report(self) -> dict[str, str]:
        """FarmStatusReport: the status, plus `disk_full` (ours, optional) while a disk is full."""
        report = {"status": self.farm_status()}
        disk_full = self.disk.message()
        if disk_full:
            report["disk_full"] = disk_full
        return report

    def publish(self, changes: Changes) -> None:
        """Queue the log lines (written by the task-log writer process), then the events (sent by the broker's
        greenlets). A change holding lines a Worker sent waits for them: DiskFull when they were lost,
        so the Worker keeps them and sends them again."""
        # One append per task: a hand-out or an update writes two or three lines to the same log.
        per_task: dict[tuple[str, str], list[str]] = {}
        sent_by_worker = False
        for job_uuid, task_uuid, text, stamp in changes.logs:
            line = TaskLogs.timestamped(text) if stamp else text
            sent_by_worker = sent_by_worker or not stamp
            per_task.setdefault((job_uuid, task_uuid), []).append(line if line.endswith("\n") else line + "\n")
        lines = [(job_uuid, task_uuid, "".join(texts)) for (job_uuid, task_uuid), texts in per_task.items()]
        lost: DiskFull | None = None
        if lines and sent_by_worker:
            lost = self._logs_written(*self.task_logs.append(lines), lines)
        elif lines:
            self.task_logs.append_later(lines)  # self._logs_written hears how it went
        for event, room, payload in changes.events:
            self.broker.publish(event, room, payload)
        if lost is not None:
            raise lost

    def _logs_written(self, written: list[tuple[str, str, str]], exc: BaseException | None,
                      lines: list[tuple[str, str, str]]) -> DiskFull | None:
        """Tell the subscribers what was written; a failure is logged (and recorded when the disk is full)."""
        for _job_uuid, task_uuid, text in written:
            self.broker.publish(*events.task_log(task_uuid, text))
        if exc is None:
            return None
        done = {task_uuid for _job_uuid, task_uuid, _text in written}
        failed = next(((j, t) for j, t, _text in lines if t not in done), lines[0][:2])
        if isinstance(exc, OSError) and is_disk_full(exc):
            return self.disk.full(self.task_logs.path(*failed), "task logs")
        log.error("cannot write the log of task %s: %s", failed[1], exc)
        return None


def _farm_status_inputs(conn: sqlite3.Connection) -> tuple[list, list[str]]:
    return worker_db.statuses_for_farm(conn), job_db.distinct_statuses(conn)


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
        task_logs=TaskLogWriter(TaskLogs(storage_root)),
    )
