"""Database migrations on real SQLite files: a database made by an older Manager is brought up to date."""

from __future__ import annotations

import sqlite3

from flamenco_pkg.manager.db.connection import Database, migrations


def _database_at_version_1(path) -> None:
    """The schema of migration 0001 with two workers as the older Manager stored them."""
    first = [sql for number, _name, sql in migrations() if number == 1][0]
    conn = sqlite3.connect(path)
    conn.executescript(first + "\nPRAGMA user_version = 1;")
    for uuid, status in (("0a000000-0000-4000-8000-000000000001", ""),
                         ("0a000000-0000-4000-8000-000000000002", "awake")):
        conn.execute("INSERT INTO workers (created_at, updated_at, uuid, secret, name, status) "
                     "VALUES ('2025-01-01', '2025-01-01', ?, 'x', 'w', ?)", (uuid, status))
    conn.commit()
    conn.close()


def test_registered_workers_become_offline(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    _database_at_version_1(path)
    db = Database(path)
    try:
        rows = db.conn.execute("SELECT uuid, status FROM workers ORDER BY uuid").fetchall()
        assert [tuple(r) for r in rows] == [("0a000000-0000-4000-8000-000000000001", "offline"),
                                           ("0a000000-0000-4000-8000-000000000002", "awake")]
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    finally:
        db.close()
