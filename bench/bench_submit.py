"""How long a 100,000-task job takes to submit, and whether Workers wait meanwhile.

Starts a real Manager, POSTs an `echo-sleep-test` job of 100,000 tasks over
HTTP and times the reply, while a registered Worker polls
`GET /api/v3/worker/state` (its slowest answer is printed). The baseline is
plain SQLite: the same task and dependency rows, read back from the
Manager's database, inserted with two `executemany` calls in one transaction
into a fresh database with the Manager's schema, in this process. A second
job of as many tasks that all differ (so no runs of like rows for the
inserts) is timed after it, as a companion figure without a target.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402
from flamenco_pkg.manager.db.connection import Database  # noqa: E402

N_TASKS = 100_000


# Tasks that all differ, each after the one before: no run of like rows for the inserts
# (compare the echo-sleep-test job, whose sleeps are alike and all wait for its echo).
DISTINCT_TASKS_SCRIPT = """
const JOB_TYPE = { label: "Distinct tasks (benchmark)", settings: [{ key: "count", type: "int32", required: true }] };
function compileJob(job) {
  let before = null;
  for (let i = 0; i < job.settings.count; i++) {
    const task = author.Task(`sleep-${i}`, "misc");
    task.addCommand(author.Command("sleep", { duration_in_seconds: 1, task_number: i }));
    if (before !== null) task.addDependency(before);
    job.addTask(task);
    before = task;
  }
}
"""


def distinct_tasks_job(n_tasks: int, name: str) -> dict:
    return {"name": name, "type": "distinct-tasks", "priority": 50, "submitter_platform": "linux",
            "settings": {"count": n_tasks}}


def echo_sleep_job(n_tasks: int, name: str) -> dict:
    return {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "bench", "sleep_duration_seconds": 1, "sleep_repeats": n_tasks - 1}}


class StateProbe(threading.Thread):
    """A Worker asking for its state every 20 ms; records how long each answer took."""

    def __init__(self, worker) -> None:
        super().__init__(daemon=True)
        self.worker = worker
        self.latencies: list[float] = []
        self.started: list[float] = []  # time.time() of each call
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.perf_counter()
            self.started.append(time.time())
            resp = self.worker.api.get("/api/v3/worker/state", check=False)
            self.latencies.append(time.perf_counter() - began)
            self.errors += resp.status_code >= 400
            self.stop.wait(0.02)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0.0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def raw_executemany(db_path: Path, job_id: int) -> tuple[float, int, int]:
    """Seconds to insert the stored job's rows again with plain executemany; (s, tasks, dependencies)."""
    source = sqlite3.connect(db_path)
    job = source.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    job_columns = [d[0] for d in source.execute("SELECT * FROM jobs LIMIT 0").description]
    task_cursor = source.execute("SELECT * FROM tasks WHERE job_id = ? ORDER BY id", (job_id,))
    task_columns = ", ".join(d[0] for d in task_cursor.description)
    tasks = task_cursor.fetchall()
    dependencies = source.execute(
        "SELECT d.task_id, d.dependency_id FROM task_dependencies d JOIN tasks t ON t.id = d.task_id"
        " WHERE t.job_id = ?", (job_id,)).fetchall()
    source.close()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "baseline.sqlite")  # the Manager's schema, WAL, foreign keys on
        conn = db.conn
        conn.execute(f"INSERT INTO jobs ({', '.join(job_columns)}) VALUES ({', '.join('?' * len(job))})", job)
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO tasks ({task_columns}) VALUES ({', '.join('?' * len(tasks[0]))})", tasks)
        conn.executemany("INSERT INTO task_dependencies (task_id, dependency_id) VALUES (?, ?)", dependencies)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - began
        db.close()
    return elapsed, len(tasks), len(dependencies)


def main() -> None:
    from tests.integration.farm import ManagerProcess, ScriptedWorker

    with tempfile.TemporaryDirectory() as tmp:
        manager = ManagerProcess(Path(tmp) / "manager")
        manager.scripts.mkdir(parents=True, exist_ok=True)
        (manager.scripts / "distinct_tasks.js").write_text(DISTINCT_TASKS_SCRIPT)
        manager.start()
        try:
            api = manager.api()
            worker = ScriptedWorker(manager.url).start()
            # A small job first, so the job-type worker processes have booted.
            assert api.post("/api/v3/jobs", json=echo_sleep_job(10, "warm-up")).status_code == 200
            probe = StateProbe(worker)
            probe.start()
            time.sleep(0.2)
            pids = [manager.proc.pid, *children(manager.proc.pid)]
            cpu_before = [cpu_seconds(pid) for pid in pids]
            began = time.perf_counter()
            resp = api.session.post(f"{manager.url}/api/v3/jobs", json=echo_sleep_job(N_TASKS, "bench"), timeout=600)
            submit_s = time.perf_counter() - began
            cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before)]
            time.sleep(0.2)
            probe.stop.set()
            probe.join()
            assert resp.status_code == 200, resp.text
            job_uuid = resp.json()["id"]
            began = time.perf_counter()
            resp = api.session.post(f"{manager.url}/api/v3/jobs", json=distinct_tasks_job(N_TASKS, "distinct"),
                                    timeout=600)
            distinct_s = time.perf_counter() - began
            distinct = f"{distinct_s:.2f} s" if resp.status_code == 200 else f"refused: {resp.text[:200]}"
        finally:
            manager.stop()
        log_text = manager.log_text()
        stored = re.search(rf"job {job_uuid} .* stored: .*, ([0-9.]+) s after it came in", log_text)
        compiled = re.search(r"job 'bench' compiled .*: \d+ tasks in ([0-9.]+) s", log_text)
        with sqlite3.connect(manager.db_path) as conn:
            job_id = conn.execute("SELECT id FROM jobs WHERE uuid = ?", (job_uuid,)).fetchone()[0]
        baseline_s, n_tasks, n_deps = raw_executemany(manager.db_path, job_id)

    latencies = sorted(probe.latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    store = (f"script done after {float(compiled.group(1)):.2f} s, last task stored after "
             f"{float(stored.group(1)):.2f} s" if stored and compiled else "no timings in the log")
    lines = [
        f"submit, {n_tasks:,}-task echo-sleep-test job: POST answered in {submit_s:.2f} s ({store}); "
        f"plain SQLite executemany of the same {n_tasks:,} tasks + {n_deps:,} dependencies: {baseline_s:.2f} s "
        f"(submission {submit_s / baseline_s:.1f}x that)",
        f"submit, CPU used meanwhile: Manager {cpu[0]:.2f} s, its job-type worker processes "
        f"{sum(cpu[1:]):.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        f"submit, worker/state during the submission: {len(latencies)} calls, "
        f"median {statistics.median(latencies) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, "
        f"max {latencies[-1] * 1e3:.0f} ms, {probe.errors} errors",
        f"submit, then {N_TASKS:,} tasks that all differ (names, parameters; each after the one before): "
        f"POST answered in {distinct}",
    ]
    for line in lines:
        print(line)
    report.write_section("submit", "## Submitting a 100,000-task job (`bench/bench_submit.py`)\n\n"
                         "POST /api/v3/jobs of an echo-sleep-test job against a Manager started from the source "
                         "tree, a Worker polling worker/state meanwhile; the baseline inserts the stored rows "
                         "again with plain executemany, in the benchmark's process.\n\n"
                         f"Machine: {report.machine_line()}\n\n```\n" + "\n".join(lines) + "\n```")


if __name__ == "__main__":
    main()
