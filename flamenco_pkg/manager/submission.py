"""Job submission: variables, compilation by the job type, storage.

The job-type script runs in a worker process (`job_types/pool.py`), so the
event loop keeps answering Workers while it compiles, and hands out tasks
while it runs, so they are stored meanwhile. Tasks go in batches, each its
own short transaction with a turn for the event loop between them: a
Worker's call waits for one batch, never for a 100,000-task insert. Until
the last step commits, the job's status is `under-construction`, which
hides it: it is not listed, not scheduled and no event names it. A
submission that fails half-way (the script too) marks its job for deletion
and the job deleter removes it; one cut short by a stopped Manager is
marked at the next start (`finish_interrupted`). So a job lands whole or
not at all. Once shown, its tasks are added to the scheduler's index in
short batches too (migration 0005).
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid as uuidlib
from bisect import bisect_right
from datetime import datetime, timezone
from itertools import compress
from operator import itemgetter, not_
from typing import Any

from . import events, serialize
from .config import manager_platform
from .context import Manager
from .db import job_dependencies as dep_db
from .db import jobs as job_db
from .db import tags as tag_db
from .db import tasks as task_db
from .db.batching import BatchSizer, in_batches
from .db.connection import to_db_time, utcnow
from .errors import ManagerError
from .job_deleter import deletion
from .job_types import CompiledJob, JobTypeError
from .job_dependencies.rules import check_depends_on, find_cycle
from .job_types.models import TaskGroup
from .state_machine.apply import settle_dependencies
from .shaman.specs import SpecError, check_checkout_path

log = logging.getLogger("flamenco.manager")

INITIAL_STATUSES = ("queued", "paused")
UNDER_CONSTRUCTION = "under-construction"


def prepare_submission(manager: Manager, body: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """Validate a SubmittedJob and apply two-way variables; returns (job, worker tag id)."""
    initial = body.get("initial_status") or "queued"
    if initial not in INITIAL_STATUSES:
        raise ManagerError(400, f'initial_status must be "queued" or "paused", not "{initial}"')
    platform = body["submitter_platform"]
    if platform == "manager":
        platform = manager_platform()
    settings, metadata = manager.variables.apply_to_submission(
        body.get("settings") or {}, body.get("metadata") or {}, platform)

    tag_id = None
    tag_uuid = body.get("worker_tag") or ""
    if tag_uuid:
        with manager.db.tx() as conn:
            tag = tag_db.fetch_by_uuid(conn, tag_uuid)
        if tag is None:
            raise ManagerError(400, f"worker tag {tag_uuid} does not exist")
        tag_id = tag["id"]

    depends_on = body.get("depends_on")
    if depends_on:
        with manager.db.tx() as conn:
            known = dep_db.dependable_ids(conn, [u for u in depends_on if isinstance(u, str)])
        depends_on, problem = check_depends_on(depends_on, known)
        if problem:
            raise ManagerError(400, problem)

    job = {
        "id": str(uuidlib.uuid4()),
        "name": body["name"],
        "type": body["type"],
        "priority": body["priority"],
        "settings": settings,
        "metadata": metadata,
        "worker_tag": tag_uuid,
        "shaman_checkout_id": _checkout_id(body),
        "created": datetime.now(timezone.utc),
        "type_etag": body.get("type_etag") or "",
        "initial_status": initial,
        "depends_on": depends_on or [],
    }
    return job, tag_id


def _checkout_id(body: dict[str, Any]) -> str:
    """`storage.shaman_checkout_id`, refused unless it is a path Shaman could have checked out.

    The job deleter removes `<shared>/jobs/<id>`, so `../x` must never be stored.
    """
    checkout_id = (body.get("storage") or {}).get("shaman_checkout_id") or ""
    if checkout_id:
        try:
            check_checkout_path(checkout_id, "storage.shaman_checkout_id")
        except SpecError as exc:
            raise ManagerError(400, str(exc)) from None
    return checkout_id


def submit(manager: Manager, body: dict[str, Any], submitted_by: str | None = None) -> dict[str, Any]:
    """Compile and store a SubmittedJob; returns the Job as the API shows it. Raises ManagerError.

    `submitted_by`: the user (with authentication on), who may then change the job as an artist.
    """
    job, tag_id = prepare_submission(manager, body)
    store = _Store(manager, job, tag_id, submitted_by)
    try:
        try:
            with manager.db.bulk_write():
                compiled = manager.job_types.compile(job, on_tasks=store.add)
        except JobTypeError as exc:
            raise ManagerError(exc.http_status, exc.message) from exc
        row = store.finish(compiled)
    except BaseException:
        store.abandon()
        raise
    return serialize.job(row, depends_on=job["depends_on"])


def check_submission(manager: Manager, body: dict[str, Any]) -> None:
    """What `submit` would refuse, without storing anything."""
    job, _tag_id = prepare_submission(manager, body)
    try:
        manager.job_types.check(job)
    except JobTypeError as exc:
        raise ManagerError(exc.http_status, exc.message) from exc


class _Store:
    """Stores a job's tasks as the job type hands them out; the job stays hidden until `finish`.

    Tasks come in groups while the script still runs, so storing overlaps
    compiling (the script runs in another process). Each group goes in
    time-boxed transactions: its tasks, then the dependencies it names.
    """

    def __init__(self, manager: Manager, job: dict[str, Any], tag_id: int | None,
                 submitted_by: str | None = None) -> None:
        self.manager = manager
        self.submitted_by = submitted_by
        self.job = job
        self.tag_id = tag_id
        self.created = to_db_time(job["created"])
        self.job_id: int | None = None
        self.ids: list[int] = []  # task ids by position in the job
        # Stored as runnable as far as the job goes once shown, unless they could run at once
        # (no pending dependency): only those wait for `_release`, listed in `ready`.
        self.schedulable = job["initial_status"] == "queued" and not job["depends_on"]
        self.ready: list[int] = []
        self.dependencies = 0
        self.steps_total = 0
        self.sizer = BatchSizer()
        self.shown = False
        self.began = time.perf_counter()

    def add(self, tasks: TaskGroup | None, pairs: list[tuple[int, int]]) -> None:
        """Store a group of tasks (or none) and the dependencies it names (positions in the job,
        each counted in its task's deps_pending already). None can run yet: see `finish`."""
        job_id = self._job_id()
        count = len(tasks.uuids) if tasks is not None else 0
        if count:
            self.steps_total += sum(tasks.steps)
        rows_done = pairs_done = 0

        def step(conn, limit: int) -> int:
            nonlocal rows_done, pairs_done
            handled = 0
            if rows_done < count:
                chunk = tasks.slice(rows_done, rows_done + limit)
                first = task_db.insert_task_rows(conn, job_id, self.created, len(self.ids) + 1, chunk,
                                                 job_priority=self.job["priority"], job_tag_id=self.tag_id,
                                                 schedulable=self.schedulable, hidden=True)
                self.ids.extend(range(first, first + len(chunk.uuids)))
                if self.schedulable:
                    self.ready.extend(compress(range(first, first + len(chunk.uuids)), map(not_, chunk.pending)))
                rows_done += len(chunk.uuids)
                handled = len(chunk.uuids)
            if handled < limit and pairs_done < len(pairs):  # the tasks they name are in
                chunk = pairs[pairs_done:pairs_done + limit - handled]
                task_db.insert_counted_dependencies(conn, *self._task_ids(chunk))
                pairs_done += len(chunk)
                handled += len(chunk)
            return handled

        # Tasks reference this job, dependencies tasks stored here: nothing for SQLite to look up.
        in_batches(self.manager.db, step, self.sizer, check_foreign_keys=False)
        self.dependencies += len(pairs)

    def _task_ids(self, pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
        """The task ids and the dependency ids of (position, position) pairs, mapped in C (100k pairs a job)."""
        to_id = self.ids.__getitem__
        return list(map(to_id, map(itemgetter(0), pairs))), list(map(to_id, map(itemgetter(1), pairs)))

    def finish(self, compiled: CompiledJob) -> sqlite3.Row:
        """Show the whole job (initial status, settings as compiled, steps, counts), tell the
        clients, then make its tasks runnable a batch at a time."""
        job_id = self._job_id()
        self._store_later_dependencies(compiled.dependencies)
        with self.manager.change() as (conn, changes):
            self._store_job_dependencies(conn, job_id, compiled.depends_on)
            task_db.count_queued(conn, job_id, len(self.ids))
            if not job_db.finish_construction(conn, job_id, self.job["initial_status"], self.steps_total,
                                              compiled.settings, compiled.metadata):
                raise RuntimeError(f"job {self.job['id']} was marked for deletion while it was being stored")
            settle_dependencies(conn, changes, job_id)
            row = job_db.fetch_by_id(conn, job_id)
            events.job_updated(changes, row)
        self.shown = True
        if self.job["initial_status"] == "queued":
            try:
                self._release(job_id)
            except Exception:  # noqa: BLE001 - the job is stored and shown; the next start finishes this
                log.exception('job %s "%s": not all its tasks are runnable yet; they will be after a restart',
                              self.job["id"], self.job["name"])
        log.info('job %s "%s" stored: %d tasks, %d dependencies in %d transactions, %.2f s after it came in',
                 self.job["id"], self.job["name"], len(self.ids), self.dependencies, self.sizer.transactions + 2,
                 time.perf_counter() - self.began)
        return row

    def _store_job_dependencies(self, conn: sqlite3.Connection, job_id: int, depends_on: list[str]) -> None:
        """The jobs this one waits for, as the job type left `job.dependsOn` (which starts as the
        submitted depends_on): unknown jobs and cycles are a 400. Stored before the job is shown,
        so it is never runnable before its dependencies are counted; the release after `finish`
        gives its tasks the job's runnability."""
        self.job["depends_on"] = []
        if not depends_on:
            return
        if self.job["id"] in depends_on:  # the job cannot be looked up yet: it is not shown
            raise ManagerError(400, "depends_on would make a dependency cycle: the job would wait for itself")
        known = dep_db.dependable_ids(conn, depends_on)
        wanted, problem = check_depends_on(depends_on, known)
        if problem:
            raise ManagerError(400, problem)
        cycle = find_cycle(dep_db.upstream_graph(conn, known.values()), self.job["id"], wanted)
        if cycle:
            raise ManagerError(400, "depends_on would make a dependency cycle: " + " -> ".join(cycle))
        dep_db.insert(conn, job_id, [known[u] for u in wanted])
        self.job["depends_on"] = wanted

    def _store_later_dependencies(self, pairs: list[tuple[int, int]]) -> None:
        """Dependencies on tasks added after their task; their tasks' deps_pending are counted here."""
        done = 0

        def step(conn, limit: int) -> int:
            nonlocal done
            chunk = pairs[done:done + limit]
            task_db.insert_dependencies(conn, zip(*self._task_ids(chunk)))
            done += len(chunk)
            return len(chunk)

        if pairs:
            in_batches(self.manager.db, step, self.sizer)
            self.dependencies += len(pairs)

    def _release(self, job_id: int) -> None:
        """Put the shown job's tasks in the scheduler's index, a time-boxed batch at a time.

        A pause or deletion meanwhile is respected (each batch reads the
        job's runnability); a stop meanwhile is mended at the next start
        (`finish_interrupted`).
        """
        # Each batch covers at most `limit` ids from the next one waiting: an echo-sleep-test
        # job's one echo task is one short batch, not a walk over its 100k sleeps.
        waiting = self.ready if self.schedulable else self.ids
        done = 0

        def step(conn, limit: int) -> int:
            nonlocal done
            if done == len(waiting):
                return 0
            first = waiting[done]
            last = min(first + limit - 1, waiting[-1])
            task_db.release_for_scheduling(conn, job_id, first, last)
            done = bisect_right(waiting, last, done)
            return last - first + 1 if done == len(waiting) else limit

        in_batches(self.manager.db, step, self.sizer)

    def abandon(self) -> None:
        """After a failure: hand what was stored to the job deleter (nothing was shown)."""
        if self.job_id is not None and not self.shown:
            _abandon(self.manager, self.job_id, self.job["id"], len(self.ids))

    def _job_id(self) -> int:
        if self.job_id is None:
            job = self.job
            with self.manager.db.tx() as conn:
                self.job_id = job_db.insert_job(
                    conn, uuid=job["id"], name=job["name"], job_type=job["type"], priority=job["priority"],
                    status=UNDER_CONSTRUCTION, settings=job["settings"], metadata=job["metadata"],
                    worker_tag_id=self.tag_id, shaman_checkout_id=job["shaman_checkout_id"],
                    created_at=self.created, submitted_by=self.submitted_by)
        return self.job_id


def _abandon(manager: Manager, job_id: int, job_uuid: str, stored: int) -> None:
    """After a failure half-way: hand the hidden, partly stored job to the job deleter."""
    log.warning("job %s was not accepted; removing the %d tasks stored so far", job_uuid, stored)
    try:
        with manager.db.tx() as conn:
            job_db.abandon_construction(conn, job_id=job_id)
    except Exception:  # noqa: BLE001 - the next start finds the job and removes it
        log.exception("cannot mark the half-stored job %s for deletion; it is removed at the next start",
                      job_uuid)
        return
    deletion.queue_for_deletion(manager, [job_id])


def finish_interrupted(manager: Manager) -> None:
    """At start-up, for a Manager stopped in the middle of a submission.

    Jobs it left under construction go to the job deleter; tasks of shown
    jobs it had not made runnable yet are made runnable.
    """
    with manager.db.tx() as conn:
        abandoned = job_db.abandon_construction(conn, created_before=utcnow())
        released = task_db.release_interrupted(conn)
    if abandoned:
        log.warning("removing %d job(s) whose submission was cut short by a stop of the Manager", len(abandoned))
    if released:
        log.warning("%d tasks of a job stored just before the Manager stopped are runnable now", released)
