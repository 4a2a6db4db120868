"""Big submissions and deletions do not hold up Workers, and land whole or not at all.

Functional, not timing: each test checks what a Worker or the web UI could
observe (answers during a runaway script, a job that is never seen half
stored, nothing left behind after a failure or a kill).
"""

from __future__ import annotations

import re
import signal
import sqlite3
import threading
import time
import uuid

import requests

from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until

RUNAWAY = """
const JOB_TYPE = { label: "Runaway", settings: [] };
function compileJob(job) { while (true) {} }
"""


def echo_sleep(n_tasks: int, name: str) -> dict:
    return {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": name, "sleep_duration_seconds": 1, "sleep_repeats": n_tasks - 1}}


def post_in_background(manager: ManagerProcess, body: dict) -> tuple[threading.Thread, dict]:
    """POST a job from a thread; the result dict gets "response" (or "error") when it is done."""
    result: dict = {}

    def post() -> None:
        try:
            result["response"] = requests.post(f"{manager.url}/api/v3/jobs", json=body, timeout=600)
        except requests.RequestException as exc:
            result["error"] = exc

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread, result


def db_counts(manager: ManagerProcess, name: str) -> tuple[str | None, int, int]:
    """(job status, tasks, dependencies) of the job called `name`, read straight from SQLite."""
    conn = sqlite3.connect(f"file:{manager.db_path}?mode=ro", uri=True, timeout=10)
    try:
        row = conn.execute("SELECT id, status FROM jobs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None, 0, 0
        tasks = conn.execute("SELECT COUNT(*) FROM tasks WHERE job_id = ?", (row[0],)).fetchone()[0]
        deps = conn.execute("SELECT COUNT(*) FROM task_dependencies d JOIN tasks t ON t.id = d.task_id"
                            " WHERE t.job_id = ?", (row[0],)).fetchone()[0]
        return row[1], tasks, deps
    finally:
        conn.close()


def consistent(manager: ManagerProcess) -> bool:
    conn = sqlite3.connect(manager.db_path)
    try:
        return conn.execute("PRAGMA foreign_key_check").fetchall() == [] and \
            conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def job_names(api) -> list[str]:
    return [job["name"] for job in api.get("/api/v3/jobs").json()["jobs"]]


def test_runaway_script_is_stopped_while_workers_are_answered(manager, api):
    manager.scripts.mkdir(exist_ok=True)
    (manager.scripts / "runaway.js").write_text(RUNAWAY)
    worker = ScriptedWorker(manager.url).start()

    thread, result = post_in_background(manager, {"name": "forever", "type": "runaway", "priority": 50,
                                                  "submitter_platform": "linux"})
    answered_meanwhile: list[float] = []
    while thread.is_alive():
        began = time.monotonic()
        resp = worker.api.get("/api/v3/worker/state")
        assert resp.status_code in (200, 204), resp.text
        if thread.is_alive():
            answered_meanwhile.append(time.monotonic() - began)
        time.sleep(0.05)
    thread.join()

    resp = result["response"]
    assert resp.status_code == 400
    assert resp.json() == {"code": 400, "message": "job type script runaway.js took longer than 5 s"}
    # The script burnt its whole 5 s of CPU; the Worker was answered all along.
    assert len(answered_meanwhile) >= 5, answered_meanwhile
    assert max(answered_meanwhile) < 2.5, answered_meanwhile
    # The job-type worker that ran it still compiles jobs.
    assert api.post("/api/v3/jobs", json=echo_sleep(3, "after")).status_code == 200
    assert job_names(api) == ["after"]


def test_big_job_stored_in_batches_is_never_seen_half_stored(manager, api):
    n_tasks = 30_000
    thread, result = post_in_background(manager, echo_sleep(n_tasks, "big"))
    seen_in_list: list[int] = []
    while thread.is_alive():
        listed = [job for job in api.get("/api/v3/jobs").json()["jobs"] if job["name"] == "big"]
        if listed:
            seen_in_list.append(len(api.get(f"/api/v3/jobs/{listed[0]['id']}/tasks").json()["tasks"]))
        time.sleep(0.02)
    thread.join()

    resp = result["response"]
    assert resp.status_code == 200, resp.text
    job = resp.json()
    assert (job["status"], job["steps_total"], job["steps_completed"]) == ("queued", n_tasks, 0)
    assert set(seen_in_list) <= {n_tasks}  # listed only once it was whole
    tasks = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]
    assert len(tasks) == n_tasks
    assert [t["name"] for t in tasks[:3]] == ["echo", "sleep", "sleep"]
    assert db_counts(manager, "big") == ("queued", n_tasks, n_tasks - 1)
    # The scheduler's copies: every task runnable as far as its job goes, the sleeps
    # waiting for the echo task, and the job's kept counts.
    conn = sqlite3.connect(f"file:{manager.db_path}?mode=ro", uri=True)
    try:
        assert conn.execute(
            "SELECT t.job_schedulable, t.deps_pending, COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id"
            " WHERE j.name = 'big' GROUP BY 1, 2 ORDER BY 2").fetchall() == [(1, 0, 1), (1, 1, n_tasks - 1)]
        assert conn.execute("SELECT c.status, c.count FROM job_task_counts c JOIN jobs j ON j.id = c.job_id"
                            " WHERE j.name = 'big'").fetchall() == [("queued", n_tasks)]
    finally:
        conn.close()
    stored = re.search(r'"big" stored: 30000 tasks, 29999 dependencies in (\d+) transactions', manager.log_text())
    assert stored and int(stored.group(1)) > 3, "the job should have gone in several transactions"

    # And it is a normal job: the echo task goes out first, the sleeps wait for it.
    worker = ScriptedWorker(manager.url).start()
    first = worker.ask_task().json()
    assert first["name"] == "echo"
    assert worker.update(first["uuid"], taskStatus="completed").status_code == 204
    # 29,999 dependents are released by the background loop in batches: a Worker asking at
    # once holds its request (long-poll) until the first batch is runnable.
    resp = worker.api.post("/api/v3/worker/task", headers={"X-Flamenco-Wait": "20"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "sleep"


def test_dependencies_on_tasks_added_later(manager, api):
    manager.scripts.mkdir(exist_ok=True)
    (manager.scripts / "backwards.js").write_text("""
const JOB_TYPE = { label: "Backwards", settings: [] };
function compileJob(job) {
    const tasks = [];
    for (let i = 0; i < 5000; i++) tasks.push(author.Task("t" + i, "misc"));
    // Each task waits for the one added after it, so they run last to first.
    for (let i = 0; i < 4999; i++) tasks[i].addDependency(tasks[i + 1]);
    for (const t of tasks) job.addTask(t);
}
""")
    resp = api.post("/api/v3/jobs", json={"name": "backwards", "type": "backwards", "priority": 50,
                                          "submitter_platform": "linux"})
    assert resp.status_code == 200, resp.text
    assert db_counts(manager, "backwards") == ("queued", 5000, 4999)
    worker = ScriptedWorker(manager.url).start()
    for expected in ("t4999", "t4998", "t4997"):
        task = worker.ask_task().json()
        assert task["name"] == expected
        assert worker.update(task["uuid"], taskStatus="completed").status_code == 204


def test_tasks_without_dependencies_among_waiting_ones_are_all_made_runnable(manager, api):
    manager.scripts.mkdir(exist_ok=True)
    (manager.scripts / "sparse.js").write_text("""
const JOB_TYPE = { label: "Sparse", settings: [] };
function compileJob(job) {
    let free = null;
    for (let i = 0; i < 6000; i++) {
        const t = author.Task("t" + i, i % 3 ? "waits" : "free");
        if (i % 3) t.addDependency(free); else free = t;
        job.addTask(t);
    }
}
""")
    resp = api.post("/api/v3/jobs", json={"name": "sparse", "type": "sparse", "priority": 50,
                                          "submitter_platform": "linux"})
    assert resp.status_code == 200, resp.text
    conn = sqlite3.connect(f"file:{manager.db_path}?mode=ro", uri=True)
    try:  # stored runnable as far as the job goes: the free ones at the release, the others at once
        assert conn.execute(
            "SELECT t.type, t.job_schedulable, t.deps_pending, COUNT(*) FROM tasks t JOIN jobs j ON j.id = t.job_id"
            " WHERE j.name = 'sparse' GROUP BY 1, 2, 3 ORDER BY 1").fetchall() == [("free", 1, 0, 2000),
                                                                                   ("waits", 1, 1, 4000)]
    finally:
        conn.close()


def test_tasks_left_not_runnable_by_a_stop_are_made_runnable_at_start(tmp_path):
    manager = ManagerProcess(tmp_path / "manager").start()
    try:
        assert manager.api().post("/api/v3/jobs", json=echo_sleep(50, "stopped")).status_code == 200
    finally:
        manager.stop()
    # As if the Manager had stopped right after showing the job, before making its tasks runnable.
    conn = sqlite3.connect(manager.db_path)
    with conn:
        conn.execute("UPDATE tasks SET job_schedulable = 0")
    conn.close()
    manager.start()
    try:
        worker = ScriptedWorker(manager.url).start()
        assert worker.ask_task().json()["name"] == "echo"
        assert "50 tasks of a job stored just before the Manager stopped are runnable now" in manager.log_text()
    finally:
        manager.stop()


def test_submission_failing_half_way_leaves_nothing(tmp_path):
    manager = ManagerProcess(tmp_path / "manager").start()
    manager.stop()
    # A real database error in the middle of storing: the 5000th task cannot be inserted.
    conn = sqlite3.connect(manager.db_path)
    conn.execute("CREATE TRIGGER injected_failure BEFORE INSERT ON tasks WHEN NEW.index_in_job = 5000"
                 " BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    conn.close()
    manager.start()
    try:
        api = manager.api()
        resp = api.post("/api/v3/jobs", json=echo_sleep(20_000, "doomed"))
        assert resp.status_code == 500
        assert resp.json()["code"] == 500
        assert job_names(api) == []
        # What was stored before the failure is removed by the job deleter.
        wait_until(lambda: db_counts(manager, "doomed") == (None, 0, 0), deadline_s=60,
                   what="the half-stored job to be removed")
        assert consistent(manager)
        stored = re.search(r"was not accepted; removing the (\d+) tasks stored so far", manager.log_text())
        assert stored and 0 < int(stored.group(1)) < 5000
        # Smaller jobs still go in.
        assert api.post("/api/v3/jobs", json=echo_sleep(10, "fine")).status_code == 200
        assert job_names(api) == ["fine"]
    finally:
        manager.stop()


def test_script_failing_after_handing_out_tasks_leaves_nothing(manager, api):
    # Tasks are stored while the script runs; this one fails after 9,000 of them.
    manager.scripts.mkdir(exist_ok=True)
    (manager.scripts / "late_failure.js").write_text("""
const JOB_TYPE = { label: "Late failure", settings: [] };
function compileJob(job) {
    for (let i = 0; i < 9000; i++) job.addTask(author.Task("t" + i, "misc"));
    throw new Error("changed my mind");
}
""")
    resp = api.post("/api/v3/jobs", json={"name": "late", "type": "late-failure", "priority": 50,
                                          "submitter_platform": "linux"})
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("Error: changed my mind at compileJob (late_failure.js:")
    assert job_names(api) == []
    # The first 8,000 were stored while the script ran (groups of 2,000), and are removed again.
    assert "was not accepted; removing the 8000 tasks stored so far" in manager.log_text()
    wait_until(lambda: db_counts(manager, "late") == (None, 0, 0), deadline_s=60,
               what="the tasks stored before the failure to be removed")
    assert consistent(manager)


def test_submission_cut_short_by_a_kill_is_removed_at_restart(manager, api):
    thread, result = post_in_background(manager, echo_sleep(60_000, "interrupted"))

    def half_stored() -> bool:
        status, tasks, _deps = db_counts(manager, "interrupted")
        return status == "under-construction" and tasks > 0

    wait_until(half_stored, deadline_s=300, interval_s=0.005, what="the job to be partly stored")
    assert manager.stop(signal.SIGKILL) != 0
    thread.join()
    assert "error" in result  # the client saw the connection drop, not a job
    assert db_counts(manager, "interrupted")[1] > 0

    manager.start()
    assert "interrupted" not in job_names(api)
    wait_until(lambda: db_counts(manager, "interrupted") == (None, 0, 0), deadline_s=120,
               what="the half-stored job to be removed after the restart")
    assert consistent(manager)
    assert "submission was cut short" in manager.log_text()


def populate_finished_job(db_path, n_tasks: int, name: str) -> str:
    """A completed job of `n_tasks` tasks, each depending on the first, straight into SQLite."""
    now = "2026-01-01T00:00:00.000000Z"
    job_uuid = str(uuid.uuid4())
    conn = sqlite3.connect(db_path)
    with conn:
        job_id = conn.execute(
            "INSERT INTO jobs (created_at, updated_at, uuid, name, job_type, status, steps_total)"
            " VALUES (?, ?, ?, ?, 'echo-sleep-test', 'completed', ?)", (now, now, job_uuid, name, n_tasks)).lastrowid
        conn.executemany(
            "INSERT INTO tasks (created_at, updated_at, uuid, name, type, job_id, index_in_job, status, steps_total)"
            " VALUES (?, ?, ?, 'sleep', 'misc', ?, ?, 'completed', 1)",
            ((now, now, str(uuid.uuid4()), job_id, i + 1) for i in range(n_tasks)))
        first = conn.execute("SELECT MIN(id) FROM tasks WHERE job_id = ?", (job_id,)).fetchone()[0]
        conn.executemany("INSERT INTO task_dependencies (task_id, dependency_id) VALUES (?, ?)",
                         ((first + i, first) for i in range(1, n_tasks)))
    conn.close()
    return job_uuid


def test_big_job_deleted_in_batches_and_resumed_after_a_kill(tmp_path):
    manager = ManagerProcess(tmp_path / "manager").start()
    manager.stop()
    big = populate_finished_job(manager.db_path, 60_000, "big")
    small = populate_finished_job(manager.db_path, 5, "small")
    manager.start()
    try:
        api = manager.api()
        assert api.delete(f"/api/v3/jobs/{big}").status_code == 204

        def partly_deleted() -> bool:
            return 0 < db_counts(manager, "big")[1] < 60_000

        wait_until(partly_deleted, deadline_s=120, interval_s=0.005, what="the deletion to be under way")
        assert manager.stop(signal.SIGKILL) != 0
        assert consistent(manager)  # every batch left the database whole
        left = db_counts(manager, "big")
        assert 0 < left[1] < 60_000 and left[2] == left[1] - 1

        manager.start()  # the deletion request was kept; the deleter carries on
        wait_until(lambda: db_counts(manager, "big") == (None, 0, 0), deadline_s=120,
                   what="the deletion to finish after the restart")
        assert consistent(manager)
        assert job_names(api) == ["small"]
        assert db_counts(manager, "small") == ("completed", 5, 4)
        assert re.search(r'deleted job .* "big": \d+ tasks in \d+ transactions', manager.log_text())
    finally:
        manager.stop()


def test_big_job_deletion_removes_everything_in_batches(tmp_path):
    manager = ManagerProcess(tmp_path / "manager").start()
    manager.stop()
    big = populate_finished_job(manager.db_path, 40_000, "big")
    manager.start()
    try:
        api = manager.api()
        worker = ScriptedWorker(manager.url).start()
        assert api.delete(f"/api/v3/jobs/{big}").status_code == 204
        while db_counts(manager, "big")[0] is not None:  # Workers are answered meanwhile
            assert worker.api.get("/api/v3/worker/state").status_code in (200, 204)
        assert db_counts(manager, "big") == (None, 0, 0)
        assert consistent(manager)
        deleted = re.search(r'deleted job .* "big": 40000 tasks in (\d+) transactions', manager.log_text())
        assert deleted and int(deleted.group(1)) > 3
        assert job_names(api) == []
    finally:
        manager.stop()
