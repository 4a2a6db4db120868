"""Reads on the read-only pool, beside the one writer: real SQLite files, real native threads.

The writer is held from a native thread where a test needs it held: the
lock is a plain threading lock here (no monkey-patching), so only another
thread can make it wait.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gevent
import pytest

from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.context import Manager
from flamenco_pkg.manager.db import connection
from flamenco_pkg.manager.db import jobs as job_db
from flamenco_pkg.manager.db import tags as tag_db
from flamenco_pkg.manager.db import tasks as task_db
from flamenco_pkg.manager.db import workers as worker_db
from flamenco_pkg.manager.db.connection import Database, DatabaseError, utcnow
from flamenco_pkg.manager.job_types import JobTypeRegistry
from flamenco_pkg.manager.local_storage.task_logs import TaskLogs
from flamenco_pkg.manager.local_storage.task_log_writer import TaskLogWriter
from flamenco_pkg.manager.routes import job_control, jobs, meta, worker_mgt
from flamenco_pkg.manager.routes.common import ApiRequest, Reply

DEADLINE_S = 20


def add_job(conn: sqlite3.Connection, name: str = "j", n_tasks: int = 2) -> tuple[str, list[str]]:
    job_uuid = str(uuid.uuid4())
    job_id = job_db.insert_job(conn, uuid=job_uuid, name=name, job_type="echo-sleep-test", priority=50,
                               status="queued", settings={}, metadata={}, worker_tag_id=None,
                               shaman_checkout_id="", created_at=utcnow())
    tasks = [{"uuid": str(uuid.uuid4()), "name": f"t{i}", "type": "misc", "priority": 50, "commands": [],
              "steps_total": 1} for i in range(n_tasks)]
    task_db.insert_tasks(conn, job_id, utcnow(), tasks)
    return job_uuid, [t["uuid"] for t in tasks]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "reads.sqlite")
    yield database
    database.close()


@contextmanager
def writer_held_elsewhere(db: Database, work=None) -> Iterator[threading.Event]:
    """A native thread inside db.tx() (running `work(conn)` first) until the block ends; then it commits."""
    inside, release, failed = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with db.tx() as conn:
                if work:
                    work(conn)
                inside.set()
                release.wait(DEADLINE_S)
        except BaseException as exc:  # noqa: BLE001
            failed.append(exc)
            inside.set()

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(DEADLINE_S)
    try:
        yield release
    finally:
        release.set()
        thread.join(DEADLINE_S)
    assert not failed, failed


def test_read_sees_the_latest_commit(db):
    with db.tx() as conn:
        job_uuid, _ = add_job(conn)
    assert db.read(job_db.fetch_by_uuid, job_uuid)["uuid"] == job_uuid
    with db.tx() as conn:
        job_db.set_priority(conn, job_db.fetch_by_uuid(conn, job_uuid)["id"], 80)
    assert db.read(job_db.fetch_by_uuid, job_uuid)["priority"] == 80


def test_read_connections_cannot_write(db):
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.read(lambda conn: conn.execute("DELETE FROM jobs"))


def test_a_read_inside_a_write_transaction_is_refused(db):
    with db.tx() as conn:
        add_job(conn)
        with pytest.raises(RuntimeError, match="inside a write transaction"):
            db.read(job_db.fetch_all)


def test_reads_do_not_wait_for_the_writer_nor_see_its_uncommitted_rows(db):
    with db.tx() as conn:
        committed, _ = add_job(conn, "committed")
    pending: list[str] = []
    with writer_held_elsewhere(db, lambda conn: pending.append(add_job(conn, "pending")[0])):
        seen = [row["uuid"] for row in db.read(job_db.fetch_all)]
        assert seen == [committed]
    assert [row["uuid"] for row in db.read(job_db.fetch_all)] == [committed, pending[0]]


def test_one_read_is_one_snapshot(db):
    """A commit between two statements of one read is not half seen."""
    with db.tx() as conn:
        add_job(conn)
    in_read, committed = threading.Event(), threading.Event()

    def two_counts(conn: sqlite3.Connection) -> tuple[int, int]:
        first = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        in_read.set()
        assert committed.wait(DEADLINE_S)
        return first, conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]

    reader = gevent.spawn(db.read, two_counts)
    with gevent.Timeout(DEADLINE_S):
        while not in_read.is_set():
            gevent.sleep(0.005)
    with db.tx() as conn:
        add_job(conn)
    committed.set()
    assert reader.get(timeout=DEADLINE_S) == (1, 1)
    assert db.read(lambda conn: conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]) == 2


def test_the_event_loop_runs_while_a_read_is_in_progress(db):
    """Greenlets (and the writer) finish their work while a read waits in its thread."""
    in_read, release = threading.Event(), threading.Event()
    order: list[str] = []

    def long_read(conn: sqlite3.Connection) -> int:
        in_read.set()
        assert release.wait(DEADLINE_S)
        return conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]

    def writer() -> None:
        with gevent.Timeout(DEADLINE_S):
            while not in_read.is_set():
                gevent.sleep(0.005)
        with db.tx() as conn:
            add_job(conn)
        order.append("write done")
        release.set()

    reader = gevent.spawn(lambda: (db.read(long_read), order.append("read done")))
    gevent.joinall([reader, gevent.spawn(writer)], timeout=DEADLINE_S, raise_error=True)
    assert order == ["write done", "read done"]


def test_a_killed_reader_returns_its_connection_only_when_its_thread_is_done(tmp_path):
    db = Database(tmp_path / "one.sqlite", readers=1)
    in_read, release = threading.Event(), threading.Event()

    def long_read(conn: sqlite3.Connection) -> str:
        in_read.set()
        assert release.wait(DEADLINE_S)
        return "late"

    reader = gevent.spawn(db.read, long_read)
    with gevent.Timeout(DEADLINE_S):
        while not in_read.is_set():
            gevent.sleep(0.005)
    reader.kill()
    second = gevent.spawn(db.read, lambda conn: conn.execute("SELECT 7").fetchone()[0])
    gevent.sleep(0.05)
    assert not second.ready()  # the only connection is still in the killed reader's thread
    release.set()
    assert second.get(timeout=DEADLINE_S) == 7
    db.close()


def test_integrity_check_does_not_take_the_writer(db):
    with db.tx() as conn:
        add_job(conn)
    checked = threading.Event()
    with writer_held_elsewhere(db, add_job):
        thread = threading.Thread(target=lambda: (db.check_integrity(), checked.set()))
        thread.start()
        assert checked.wait(DEADLINE_S), "the integrity check waited for the writer"
        thread.join(DEADLINE_S)


def test_integrity_check_finds_damage_on_its_own_connection(db):
    db.check_integrity()
    db.conn.execute("PRAGMA foreign_keys = OFF")
    db.conn.execute("INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status) "
                    "VALUES ('x', 'x', 'u', 'n', 't', 999, 1, 'queued')")
    with pytest.raises(DatabaseError, match="pointing at missing rows"):
        db.check_integrity()


def test_checkpoint_does_not_wait_for_a_long_read(db):
    with db.tx() as conn:
        add_job(conn)
    in_read, release = threading.Event(), threading.Event()

    def long_read(conn: sqlite3.Connection) -> None:
        conn.execute("SELECT COUNT(*) FROM jobs").fetchone()
        in_read.set()
        assert release.wait(DEADLINE_S)

    reader = gevent.spawn(db.read, long_read)
    with gevent.Timeout(DEADLINE_S):
        while not in_read.is_set():
            gevent.sleep(0.005)
    with db.tx() as conn:
        add_job(conn)
    assert db.checkpoint() is False  # busy: a reader still uses the log; returned at once
    release.set()
    reader.get(timeout=DEADLINE_S)
    assert db.checkpoint() is True



def test_commits_leave_the_wal_to_the_passive_checkpoint(db, tmp_path):
    """After take_over_checkpoints no COMMIT folds the WAL; checkpoint_passive copies all of it."""
    db.take_over_checkpoints()
    for i in range(40):  # well past what would fold on its own with a small autocheckpoint
        with db.tx() as conn:
            add_job(conn, name=f"j{i}", n_tasks=20)
    assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    wal_pages, copied = db.checkpoint_passive()
    assert wal_pages > 0 and copied == wal_pages
    # The copy is whole: a fresh connection that ignores the WAL's content would see the same rows.
    with db.tx() as conn:
        add_job(conn, name="after")
    assert db.read(lambda c: c.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]) == 41


def test_passive_checkpoints_wait_while_a_bulk_write_runs_unless_the_wal_is_huge(db, monkeypatch):
    db.take_over_checkpoints()
    with db.tx() as conn:
        add_job(conn, name="before", n_tasks=20)
    with db.bulk_write():
        assert db.checkpoint_passive() == (0, 0)  # waits: the WAL keeps its pages
        monkeypatch.setattr(connection, "BULK_WAL_MAX_BYTES", 1)
        wal_pages, copied = db.checkpoint_passive()  # past the cap it folds anyway
        assert wal_pages > 0 and copied == wal_pages
        monkeypatch.undo()
        with db.tx() as conn:
            add_job(conn, name="during", n_tasks=20)
        assert db.checkpoint_passive() == (0, 0)
    wal_pages, copied = db.checkpoint_passive()  # done: folded at once
    assert wal_pages > 0 and copied == wal_pages


def test_peek_reads_the_latest_commit_without_a_transaction(db):
    with db.tx() as conn:
        job_uuid, _ = add_job(conn)
    with db.peek() as conn:
        assert not conn.in_transaction
        assert job_db.fetch_by_uuid(conn, job_uuid)["name"] == "j"
    with db.tx() as conn:
        conn.execute("UPDATE jobs SET name = 'renamed' WHERE uuid = ?", (job_uuid,))
        with db.peek() as same:  # inside a transaction: that transaction's view
            assert job_db.fetch_by_uuid(same, job_uuid)["name"] == "renamed"


# --- The route handlers' reads go through the pool ---------------------------------------------


@pytest.fixture
def manager(tmp_path: Path, db: Database) -> Manager:
    return Manager(config=Config(), config_path=tmp_path / "flamenco-manager.yaml", db=db,
                   job_types=JobTypeRegistry(None), task_logs=TaskLogWriter(TaskLogs(tmp_path / "storage")))


def _request(**path: str) -> ApiRequest:
    return ApiRequest(path=path, query={}, body=None, headers={}, remote_addr="127.0.0.1")


def _body(result):
    if isinstance(result, Reply):
        import json
        return json.loads(result.body) if isinstance(result.body, bytes) else result.body
    return result


def test_read_handlers_answer_while_a_write_is_open_and_show_only_committed_rows(manager):
    with manager.db.tx() as conn:
        job_uuid, task_uuids = add_job(conn, "seen", n_tasks=3)
        worker_id = worker_db.insert_worker(conn, uuid=str(uuid.uuid4()), secret_hash="x", name="w1",
                                            address="10.0.0.1", platform="linux", supported_task_types=["misc"])
        worker_uuid = worker_db.fetch_by_id(conn, worker_id)["uuid"]
        tag_uuid = str(uuid.uuid4())
        tag_db.insert(conn, tag_uuid, "gpu", "")

    def uncommitted(conn: sqlite3.Connection) -> None:
        add_job(conn, "unseen", n_tasks=1)
        job_db.set_priority(conn, job_db.fetch_by_uuid(conn, job_uuid)["id"], 99)
        worker_db.insert_worker(conn, uuid=str(uuid.uuid4()), secret_hash="x", name="w2", address="",
                                platform="linux", supported_task_types=["misc"])
        tag_db.insert(conn, str(uuid.uuid4()), "cpu", "")

    with writer_held_elsewhere(manager.db, uncommitted):
        listed = _body(jobs.fetch_jobs(manager, _request()))["jobs"]
        assert [(j["name"], j["priority"]) for j in listed] == [("seen", 50)]
        assert _body(jobs.fetch_job(manager, _request(job_id=job_uuid)))["priority"] == 50
        tasks = _body(jobs.fetch_job_tasks(manager, _request(job_id=job_uuid)))["tasks"]
        assert [t["id"] for t in tasks] == task_uuids
        assert _body(jobs.fetch_task(manager, _request(task_id=task_uuids[1])))["name"] == "t1"
        assert [w["name"] for w in _body(worker_mgt.fetch_workers(manager, _request()))["workers"]] == ["w1"]
        assert _body(worker_mgt.fetch_worker(manager, _request(worker_id=worker_uuid)))["ip_address"] == "10.0.0.1"
        assert [t["name"] for t in _body(worker_mgt.fetch_worker_tags(manager, _request()))["tags"]] == ["gpu"]
        assert worker_mgt.fetch_worker_tag(manager, _request(tag_id=tag_uuid))["name"] == "gpu"
        assert _body(worker_mgt.fetch_sleep_schedule(manager, _request(worker_id=worker_uuid))) is None
        assert _body(job_control.fetch_job_blocklist(manager, _request(job_id=job_uuid))) == []
        assert job_control.delete_job_what_would_it_do(manager, _request(job_id=job_uuid)) == {
            "shaman_checkout": False}
        # The only Worker registered but never signed on (offline): nothing can run.
        assert meta.get_farm_status(manager, _request())["status"] == "inoperative"
    assert len(_body(jobs.fetch_jobs(manager, _request()))["jobs"]) == 2


def test_unknown_ids_in_pool_reads_are_404(manager):
    from flamenco_pkg.manager.errors import ManagerError

    for call in (lambda: jobs.fetch_job(manager, _request(job_id=str(uuid.uuid4()))),
                 lambda: jobs.fetch_task(manager, _request(task_id=str(uuid.uuid4()))),
                 lambda: worker_mgt.fetch_worker(manager, _request(worker_id=str(uuid.uuid4()))),
                 lambda: worker_mgt.fetch_worker_tag(manager, _request(tag_id=str(uuid.uuid4())))):
        with pytest.raises(ManagerError) as caught:
            call()
        assert caught.value.status == 404
    assert _body(jobs.fetch_job_tasks(manager, _request(job_id=str(uuid.uuid4())))) == {"tasks": []}


def test_the_wal_starts_over_under_steady_writes(db):
    """Checkpoints between writes copy all of a long WAL, so it is reused from its start, not grown."""
    db.take_over_checkpoints()
    sizes = []
    for round_ in range(4):
        for i in range(150):
            with db.tx() as conn:
                add_job(conn, name=f"r{round_}-{i}", n_tasks=5)
        wal_pages, copied = db.checkpoint_passive()
        assert copied == wal_pages
        sizes.append(wal_pages)
    assert sizes[-1] <= sizes[0] * 1.5, sizes  # each round's WAL is about as long as one round's writes


def test_the_wal_starts_over_while_writes_go_on(db, monkeypatch):
    """Writes during the checkpoint's copying do not keep the WAL from starting over.

    A PASSIVE pass copies what it saw, but the writer appended meanwhile, so
    the WAL was never all copied when a write began and grew without end; the
    FULL pass after it holds writes off for the last few pages.
    """
    monkeypatch.setattr(connection, "RESTART_WAL_PAGES", 100)
    db.take_over_checkpoints()
    writing = True

    def writer() -> None:
        i = 0
        while writing:
            with db.tx() as conn:
                add_job(conn, name=f"w{i}", n_tasks=5)
            i += 1
            gevent.sleep(0)  # the checkpoint's thread copies while this goes on

    greenlet = gevent.spawn(writer)
    sizes = []
    try:
        for _ in range(8):
            gevent.sleep(0.05)
            sizes.append(db.checkpoint_passive()[0])
    finally:
        writing = False
        greenlet.join()
    assert max(sizes) >= 100, sizes  # long enough for the FULL pass
    assert any(later < earlier for earlier, later in zip(sizes, sizes[1:])), sizes  # it started over
