"""The Manager goes away for a minute while the Worker runs a task; nothing is lost.

The outage is a full minute on purpose: long enough for the Worker's "give me
a task" to fail and wait out its one-minute retry while the Manager is gone,
and for every report of the task to pile up in the offline buffer.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import time

from tests.e2e.harness import E2EManager, WorkerProcess, processes_mentioning, task_log, wait_for_job, write_job_type
from tests.integration.farm import wait_until

OUTAGE_S = 60.0
LINES = 1500  # about 45 KB of output: several 10 KiB log chunks

JOB_TYPE = """
const JOB_TYPE = {
  label: "Outage Test",
  settings: [
    { key: "python", type: "string", required: true },
    { key: "marker", type: "string", required: true },
    { key: "lines", type: "int32", required: true },
  ],
};

function compileJob(job) {
  const s = job.settings;
  const task = author.Task("survive", "misc");
  task.addCommand(author.Command("echo", { message: "before the outage" }));
  // Holds the task until the test has stopped the Manager.
  task.addCommand(author.Command("exec", { exe: s.python, args: ["-c",
    "import os, sys, time\\nprint('waiting for', sys.argv[1], flush=True)\\n" +
    "while not os.path.exists(sys.argv[1]): time.sleep(0.05)", s.marker] }));
  task.addCommand(author.Command("exec", { exe: s.python, args: ["-c",
    "import sys\\nfor i in range(1, int(sys.argv[1]) + 1): print('line %05d of the outage test' % i)",
    String(s.lines)] }));
  task.addCommand(author.Command("echo", { message: "after the outage" }));
  job.addTask(task);
}
"""


def queued_updates(db_path) -> list[str]:
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return [row[0].decode() for row in conn.execute("SELECT payload FROM task_updates ORDER BY id")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_manager_outage_during_a_task(tmp_path):
    manager = E2EManager(tmp_path / "manager")
    write_job_type(manager.scripts, "outage_test", JOB_TYPE)
    manager.start()
    marker = tmp_path / "manager-is-down"
    worker = WorkerProcess(tmp_path / "worker", manager.url, name="e2e-outage")
    try:
        api = manager.api()
        resp = api.post("/api/v3/jobs", json={
            "name": "outage", "type": "outage-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"python": sys.executable, "marker": str(marker), "lines": LINES}})
        assert resp.status_code == 200, resp.text
        job = resp.json()
        task_id = api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"][0]["id"]
        worker.start()
        wait_until(lambda: processes_mentioning(str(marker)), deadline_s=60, what="the task's waiting program")

        manager.stop()
        down_at = time.monotonic()
        marker.write_text("go")
        # The task finishes while the Manager is away: its reports, final status included, wait in SQLite.
        buffer_db = worker.home / "flamenco-worker.sqlite"
        wait_until(lambda: any('"completed"' in u for u in queued_updates(buffer_db)), deadline_s=60,
                   interval_s=0.2, what="the completed status in the Worker's offline buffer")
        queued = queued_updates(buffer_db)
        assert len(queued) >= 5 and '"log"' in queued[0]
        assert worker.proc.poll() is None

        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))  # the outage itself, not a sync
        manager.start()
        wait_for_job(api, job["id"], "completed", deadline_s=60, logs=[worker, manager])
        wait_until(lambda: not queued_updates(buffer_db), deadline_s=10, what="an empty offline buffer")

        log = task_log(api, task_id)
        numbers = [int(n) for n in re.findall(r"> line (\d{5}) of the outage test", log)]
        assert numbers == list(range(1, LINES + 1))  # every line, once, in order
        order = [log.index('echo: "before the outage"'), log.index("waiting for"), log.index("line 00001"),
                 log.index(f"line {LINES:05d}"), log.index('echo: "after the outage"'),
                 log.index("task changed status active -> completed")]
        assert order == sorted(order)
        task = api.get(f"/api/v3/tasks/{task_id}").json()
        assert task["status"] == "completed" and task["activity"] == "Completed"
        assert "Manager unreachable" in worker.log_text()
    finally:
        worker.stop()
        manager.stop()
