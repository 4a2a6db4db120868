"""The floor a Manager is measured against: Bottle + gevent + SQLite doing only pick-and-update.

Same stack as the Manager (Bottle app on gevent's WSGI server, one SQLite file
in WAL mode with synchronous=NORMAL) and the same two Worker calls, but
nothing else: no authentication, no scheduling rules, no logs, no events.
Its sockets have TCP_NODELAY: gevent's WSGI server writes the headers and the
body of an answer in two sends, and without it Nagle's algorithm holds the
body back until the client's delayed ACK (40 ms on Linux).

- `POST /api/v3/worker/task`: pick the first queued task by priority then id
  from an index, mark it active and assigned to the caller (the Basic-auth
  user), answer 200 with it; 204 when none is left.
- `POST /api/v3/worker/task/<uuid>`: a `taskStatus` of completed marks the
  caller's active task completed (204); someone else's task is a 409.

Run: `python -m bench.bare_server --db FILE --port N [--tasks 100000]`.
"""

from __future__ import annotations

import argparse
import base64
import json
import sqlite3
import uuid as uuidlib
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL DEFAULT 50,
    status TEXT NOT NULL,
    worker TEXT,
    commands TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS tasks_queued ON tasks(priority DESC, id) WHERE status = 'queued';
"""

COMMANDS = json.dumps([{"name": "sleep", "parameters": {"duration_in_seconds": 1}}])


def open_db(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(SCHEMA)
    return conn


def fill(path: Path | str, n_tasks: int) -> None:
    """A table of `n_tasks` queued tasks, all at the same priority."""
    conn = open_db(path)
    with conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO tasks (uuid, status, commands) VALUES (?, 'queued', ?)",
                         ((str(uuidlib.uuid4()), COMMANDS) for _ in range(n_tasks)))
    conn.close()


def build_app(conn: sqlite3.Connection):
    import bottle

    app = bottle.Bottle()

    def caller() -> str:
        header = bottle.request.get_header("Authorization", "")
        try:
            return base64.b64decode(header[6:]).decode().partition(":")[0]
        except ValueError:
            return ""

    @app.post("/api/v3/worker/task")
    def pick():
        worker = caller()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT id, uuid, priority, commands FROM tasks WHERE status = 'queued'"
                               " ORDER BY priority DESC, id LIMIT 1").fetchone()
            if row is not None:
                conn.execute("UPDATE tasks SET status = 'active', worker = ? WHERE id = ?", (worker, row[0]))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if row is None:
            bottle.response.status = 204
            return ""
        bottle.response.content_type = "application/json"
        return json.dumps({"uuid": row[1], "name": f"task-{row[0]}", "status": "active", "priority": row[2],
                           "task_type": "misc", "commands": json.loads(row[3])})

    @app.post("/api/v3/worker/task/<task_uuid>")
    def update(task_uuid: str):
        body = bottle.request.json or {}
        if body.get("taskStatus") != "completed":
            bottle.response.status = 204
            return ""
        conn.execute("BEGIN IMMEDIATE")
        try:
            changed = conn.execute("UPDATE tasks SET status = 'completed' WHERE uuid = ? AND worker = ?"
                                   " AND status = 'active'", (task_uuid, caller())).rowcount
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if not changed:
            bottle.response.status = 409
            bottle.response.content_type = "application/json"
            return json.dumps({"code": 409, "message": "task is not assigned to you"})
        bottle.response.status = 204
        return ""

    @app.get("/api/v3/version")
    def version():
        bottle.response.content_type = "application/json"
        return json.dumps({"name": "bare pick-and-update server"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tasks", type=int, default=0, help="fill a new database with this many queued tasks")
    args = parser.parse_args()

    from gevent import monkey

    monkey.patch_all()
    import socket

    from gevent.pywsgi import WSGIHandler, WSGIServer

    class NoDelayHandler(WSGIHandler):
        def handle(self):
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return super().handle()

    if args.tasks and not Path(args.db).exists():
        fill(args.db, args.tasks)
    conn = open_db(args.db)
    server = WSGIServer(("127.0.0.1", args.port), build_app(conn), log=None, handler_class=NoDelayHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
