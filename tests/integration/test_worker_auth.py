"""Worker authentication with the in-memory proof: fast after the first
bcrypt check, and never fooled by a wrong secret, a deleted or a replaced Worker."""

from __future__ import annotations

import sqlite3

from tests.integration.farm import ScriptedWorker


def _state(worker: ScriptedWorker, auth=None):
    return worker.api.get("/api/v3/worker/state", auth=auth or worker.api.auth, check=False)


def test_cached_worker_with_a_wrong_secret_is_refused(manager):
    w = ScriptedWorker(manager.url).start()
    for _ in range(3):  # proven once, then served from the cache
        assert _state(w).status_code == 204
    assert _state(w, auth=(w.uuid, w.secret[:-1] + "x")).status_code == 403
    assert _state(w, auth=(w.uuid, "")).status_code == 403
    assert _state(w).status_code == 204  # the real secret still works afterwards


def test_unknown_worker_is_refused(manager):
    w = ScriptedWorker(manager.url).start()
    assert _state(w, auth=("7c9d8c36-0000-4000-8000-000000000000", w.secret)).status_code == 403


def test_deleted_worker_is_refused_at_once(manager, api):
    w = ScriptedWorker(manager.url).start()
    assert _state(w).status_code == 204
    assert api.delete(f"/api/v3/worker-mgt/workers/{w.uuid}").status_code == 204
    assert _state(w).status_code == 403
    assert w.ask_task().status_code == 403


def test_deleted_worker_is_refused_even_when_the_row_goes_behind_the_managers_back(manager):
    """The proof is kept next to the stored hash: a row that changed is checked again."""
    w = ScriptedWorker(manager.url).start()
    assert _state(w).status_code == 204
    with sqlite3.connect(manager.db_path) as conn:
        conn.execute("UPDATE workers SET deleted_at = '2026-01-01T00:00:00.000000Z' WHERE uuid = ?", (w.uuid,))
    assert _state(w).status_code == 403


def test_re_registered_worker_old_credentials_are_refused(manager, api):
    w = ScriptedWorker(manager.url).start()
    old = (w.uuid, w.secret)
    assert _state(w).status_code == 204
    assert api.delete(f"/api/v3/worker-mgt/workers/{w.uuid}").status_code == 204
    w.secret = w.secret[::-1]  # a new registration with a new secret, as the Worker does after a 403
    w.start()
    assert w.uuid != old[0]
    assert _state(w).status_code == 204
    assert _state(w, auth=old).status_code == 403
    assert _state(w, auth=(old[0], w.secret)).status_code == 403
    assert _state(w, auth=(w.uuid, old[1])).status_code == 403


def test_bad_credentials_are_refused_before_the_body_is_read(manager):
    w = ScriptedWorker(manager.url).start()
    resp = w.api.post("/api/v3/worker/task/not-a-uuid", data=b"{not json", auth=(w.uuid, "wrong"),
                      headers={"Content-Type": "application/json"}, check=False)
    assert resp.status_code == 403


def test_a_worker_that_only_polls_its_state_is_marked_seen_within_seconds(manager):
    """Polling writes nothing itself; the marks loop stores it (else asleep Workers would time out)."""
    import time

    w = ScriptedWorker(manager.url).start()
    old = "2020-01-01T00:00:00.000000Z"
    with sqlite3.connect(manager.db_path) as conn:
        conn.execute("UPDATE workers SET last_seen_at = ? WHERE uuid = ?", (old, w.uuid))
    assert _state(w).status_code == 204
    deadline = time.monotonic() + 10
    seen = old
    while seen == old and time.monotonic() < deadline:
        time.sleep(0.1)
        with sqlite3.connect(manager.db_path) as conn:
            seen = conn.execute("SELECT last_seen_at FROM workers WHERE uuid = ?", (w.uuid,)).fetchone()[0]
    assert seen > old


def test_a_non_ascii_authorization_header_is_refused_not_an_error(manager):
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(manager.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("GET", "/api/v3/worker/state")
        conn.putheader("Authorization", "Basic \xe9\xe9\xe9\xe9".encode("latin-1"))
        conn.endheaders()
        assert conn.getresponse().status == 403
    finally:
        conn.close()
