"""Group commit: requests of the same moment share one COMMIT, each in a savepoint of its own."""

from __future__ import annotations

import sqlite3

import gevent
import pytest

from flamenco_pkg.manager.db.connection import Database, DatabaseError


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "group.sqlite")
    database.conn.execute("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
    database.group_commit_s = 0.005
    yield database
    database.close()


def committed_values(db) -> list[int]:
    with sqlite3.connect(db.path) as other:  # another connection sees only what is committed
        return [r[0] for r in other.execute("SELECT v FROM t ORDER BY v")]


def test_requests_of_the_same_moment_share_one_commit_and_answer_after_it(db):
    commits = []
    db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    seen_at_return = {}

    def request(v: int) -> None:
        with db.tx() as conn:
            conn.execute("INSERT INTO t (v) VALUES (?)", (v,))
        seen_at_return[v] = v in committed_values(db)  # tx returned: it must be committed

    gevent.joinall([gevent.spawn(request, v) for v in range(20)], raise_error=True)
    assert committed_values(db) == list(range(20))
    assert all(seen_at_return.values()) and len(seen_at_return) == 20
    assert commits.count("COMMIT") < 5


def test_a_failed_request_rolls_back_alone(db):
    def good(v: int) -> None:
        with db.tx() as conn:
            conn.execute("INSERT INTO t (v) VALUES (?)", (v,))

    def bad() -> None:
        with db.tx() as conn:
            conn.execute("INSERT INTO t (v) VALUES (100)")
            conn.execute("INSERT INTO t (v) VALUES (1)")  # breaks UNIQUE: the whole request goes

    greenlets = [gevent.spawn(good, 1), gevent.spawn(bad), gevent.spawn(good, 2)]
    gevent.joinall(greenlets)
    assert isinstance(greenlets[1].exception, sqlite3.IntegrityError)
    assert greenlets[0].successful() and greenlets[2].successful()
    assert committed_values(db) == [1, 2]


def test_a_failed_commit_fails_every_request_of_the_group(db):
    db.conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.conn.execute("CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")

    def request(sql: str) -> None:
        with db.tx() as conn:
            conn.execute(sql)

    greenlets = [gevent.spawn(request, "INSERT INTO t (v) VALUES (7)"),
                 gevent.spawn(request, "INSERT INTO child (p) VALUES (42)")]  # fails only at COMMIT
    gevent.joinall(greenlets)
    assert all(isinstance(g.exception, DatabaseError) for g in greenlets)
    assert committed_values(db) == []
    request("INSERT INTO t (v) VALUES (8)")  # the next group starts clean
    assert committed_values(db) == [8]


def test_without_group_commit_each_transaction_commits_alone(db):
    db.group_commit_s = None
    with db.tx() as conn:
        conn.execute("INSERT INTO t (v) VALUES (5)")
    assert committed_values(db) == [5]


def test_a_transaction_without_foreign_key_checks_never_shares_its_commit(db):
    """The setting holds for a whole transaction: it must not reach the group's other requests."""
    db.conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.conn.execute("CREATE TABLE child (p INTEGER REFERENCES parent(id))")

    def request(value: int, *, checked: bool = True) -> None:
        with db.tx(check_foreign_keys=checked) as conn:
            conn.execute("INSERT INTO child (p) VALUES (?)", (value,))

    db.conn.execute("INSERT INTO parent (id) VALUES (1)")
    greenlets = [gevent.spawn(request, 1),  # opens a group
                 gevent.spawn(request, 2, checked=False),  # commits that group first, runs alone
                 gevent.spawn(request, 3)]  # a new group, checked again
    gevent.joinall(greenlets)
    assert greenlets[0].successful() and greenlets[1].successful()
    assert isinstance(greenlets[2].exception, sqlite3.IntegrityError)
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with sqlite3.connect(db.path) as other:
        assert [r[0] for r in other.execute("SELECT p FROM child ORDER BY p")] == [1, 2]
