"""The real Worker process against a real Manager: sign-on, status requests, exit codes, -flush."""

from __future__ import annotations

import signal
import sys

import yaml

from flamenco_pkg.worker.buffer import UpstreamBuffer
from tests.e2e.harness import WorkerProcess, processes_mentioning, task_log, write_job_type
from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until


def credentials(worker: WorkerProcess) -> dict:
    path = worker.home / "flamenco-worker-credentials.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def worker_info(api, worker_id: str) -> dict:
    resp = api.get(f"/api/v3/worker-mgt/workers/{worker_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_status(api, worker_id: str, status: str, deadline_s: float = 20) -> None:
    wait_until(lambda: worker_info(api, worker_id)["status"] == status, deadline_s=deadline_s, interval_s=0.1,
               what=f"worker {worker_id} to be {status}")


def request_status(api, worker_id: str, status: str, lazy: bool = False) -> None:
    resp = api.post(f"/api/v3/worker-mgt/workers/{worker_id}/setstatus", json={"status": status, "is_lazy": lazy})
    assert resp.status_code == 204, resp.text


def test_status_requests_and_exit_codes(manager, api, tmp_path):
    worker = WorkerProcess(tmp_path / "w", manager.url, name="lifecycle", args=["-restart-exit-code", "47"])
    try:
        worker.start()
        wait_until(lambda: credentials(worker).get("worker_id"), deadline_s=20, what="registration")
        worker_id = credentials(worker)["worker_id"]
        wait_status(api, worker_id, "awake")
        info = worker_info(api, worker_id)
        assert info["name"] == "lifecycle" and info["platform"] == "linux" and info["can_restart"] is True
        assert set(info["supported_task_types"]) == {"blender", "ffmpeg", "file-management", "misc"}

        request_status(api, worker_id, "asleep")  # seen at the next "give me a task" (423)
        wait_status(api, worker_id, "asleep")
        request_status(api, worker_id, "awake")   # seen by polling GET state while asleep
        wait_status(api, worker_id, "awake")
        request_status(api, worker_id, "restart")
        assert worker.wait(timeout=30) == 47
        assert worker_info(api, worker_id)["status"] == "offline"  # signed off on the way out
    finally:
        worker.stop()

    # Started again, it signs on with the saved credentials instead of registering.
    again = WorkerProcess(tmp_path / "w", manager.url, name="lifecycle")
    try:
        again.start()
        wait_status(api, worker_id, "awake")
        assert credentials(again)["worker_id"] == worker_id
        request_status(api, worker_id, "offline")
        assert again.wait(timeout=30) == 0
        assert worker_info(api, worker_id)["status"] == "offline"
    finally:
        again.stop()
    assert "registered with the Manager" not in again.log_text().split("Flamenco Worker")[-1]


def test_refused_credentials_make_the_worker_register_again(manager, api, tmp_path):
    worker = WorkerProcess(tmp_path / "w", manager.url, name="forgotten")
    worker.home.mkdir(parents=True)
    (worker.home / "flamenco-worker-credentials.yaml").write_text(
        "worker_id: 3f1d1c56-0000-4000-8000-000000000000\nworker_secret: from-another-manager\n")
    try:
        worker.start()
        wait_until(lambda: credentials(worker).get("worker_id") != "3f1d1c56-0000-4000-8000-000000000000",
                   deadline_s=20, what="new credentials")
        new_id = credentials(worker)["worker_id"]
        wait_status(api, new_id, "awake")
        assert "from-another-manager" not in worker.log_text()  # secrets never logged
        assert credentials(worker)["worker_secret"] not in worker.log_text()
    finally:
        worker.stop()


SLEEPER_JOB = """
const JOB_TYPE = { label: "Long exec", settings: [
  { key: "python", type: "string", required: true }, { key: "tag", type: "string", required: true },
  { key: "seconds", type: "int32", required: true } ] };
function compileJob(job) {
  const s = job.settings;
  const task = author.Task("long", "misc");
  // A shell whose two children outlive it unless the whole tree is killed.
  const nap = s.python + " -c 'import time; time.sleep(" + s.seconds + ")' " + s.tag;
  task.addCommand(author.Command("exec", { exe: "bash", args: ["-c", nap + " & " + nap + "; wait"] }));
  job.addTask(task);
}
"""


def submit_sleeper(api, tag: str, seconds: int = 300) -> tuple[str, str]:
    resp = api.post("/api/v3/jobs", json={"name": "long", "type": "long-exec", "priority": 50,
                                          "submitter_platform": "linux",
                                          "settings": {"python": sys.executable, "tag": tag, "seconds": seconds}})
    assert resp.status_code == 200, resp.text
    job = resp.json()
    return job["id"], api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"][0]["id"]


def test_sigterm_mid_task_kills_the_tree_signs_off_and_requeues(tmp_path):
    manager = ManagerProcess(tmp_path / "manager")
    write_job_type(manager.scripts, "long_exec", SLEEPER_JOB)
    manager.start()
    api = manager.api()
    tag = f"sigterm-{tmp_path.name}"
    worker = WorkerProcess(tmp_path / "w", manager.url, name="stopping")
    try:
        _job_id, task_id = submit_sleeper(api, tag)
        worker.start()
        wait_until(lambda: len(processes_mentioning(tag)) >= 3, deadline_s=30, what="the task's processes")
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=25) == 1
        wait_until(lambda: not processes_mentioning(tag), deadline_s=5, what="the task's processes to end")
        worker_id = credentials(worker)["worker_id"]
        assert worker_info(api, worker_id)["status"] == "offline"
        assert api.get(f"/api/v3/tasks/{task_id}").json()["status"] == "queued"  # given back at sign-off
    finally:
        worker.stop()
        manager.stop()


def test_cancel_stops_the_task_through_may_i_run(tmp_path):
    manager = ManagerProcess(tmp_path / "manager")
    write_job_type(manager.scripts, "long_exec", SLEEPER_JOB)
    manager.start()
    api = manager.api()
    tag = f"cancel-{tmp_path.name}"
    worker = WorkerProcess(tmp_path / "w", manager.url, name="canceled")
    try:
        job_id, task_id = submit_sleeper(api, tag)
        worker.start()
        wait_until(lambda: len(processes_mentioning(tag)) >= 3, deadline_s=30, what="the task's processes")
        resp = api.post(f"/api/v3/jobs/{job_id}/setstatus", json={"status": "cancel-requested", "reason": "test"})
        assert resp.status_code == 204, resp.text
        # A silent program: only may-i-run (every 10 s) can tell the Worker.
        wait_until(lambda: not processes_mentioning(tag), deadline_s=15, interval_s=0.1,
                   what="the canceled task's process tree to end")
        # The Worker logs why once the process tree is gone, so the line may come a moment after it ends.
        wait_until(lambda: "may not keep running" in worker.log_text(), deadline_s=10,
                   what="the Worker to log that it may not keep running the task")
        assert api.get(f"/api/v3/tasks/{task_id}").json()["status"] == "canceled"
        assert "Failed" not in task_log(api, task_id)
        assert worker.proc.poll() is None
    finally:
        worker.stop()
        manager.stop()


def test_flush_delivers_queued_updates_and_exits(manager, api, tmp_path):
    # A task that this Worker ran while the Manager was away: its updates wait in the buffer.
    resp = api.post("/api/v3/jobs", json={"name": "echo", "type": "echo-sleep-test", "priority": 50,
                                          "submitter_platform": "linux", "settings": {"message": "hi"}})
    assert resp.status_code == 200, resp.text
    scripted = ScriptedWorker(manager.url, name="flusher").start()
    task = scripted.ask_task().json()
    assert scripted.update(task["uuid"], taskStatus="active", activity="Started").status_code == 204

    worker = WorkerProcess(tmp_path / "w", manager.url, name="flusher")
    worker.home.mkdir(parents=True)
    (worker.home / "flamenco-worker-credentials.yaml").write_text(yaml.safe_dump(
        {"worker_id": scripted.uuid, "worker_secret": scripted.secret}))

    class Away:
        def call(self, *a, **kw):
            from flamenco_pkg.worker.client import Unreachable
            raise Unreachable("connection refused")

    offline = UpstreamBuffer(worker.home / "flamenco-worker.sqlite", Away())
    offline.send(task["uuid"], {"log": "echo: \"hi\""})
    offline.send(task["uuid"], {"activity": "Completed", "taskStatus": "completed"})
    offline.close(final_flush_s=0.1)

    result = worker.run("-flush", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "delivered 2 queued task updates" in result.stderr
    assert api.get(f"/api/v3/tasks/{task['uuid']}").json()["status"] == "completed"
    assert 'echo: "hi"' in task_log(api, task["uuid"])
    assert worker_info(api, scripted.uuid)["status"] == "offline"  # -flush signs off at the end


def test_bad_config_or_manager_url_exits_1_with_a_clear_message(tmp_path):
    worker = WorkerProcess(tmp_path / "w", "http://127.0.0.1:9/", name="broken")
    worker.workdir.mkdir(parents=True)
    (worker.workdir / "flamenco-worker.yaml").write_text("task_types: blender\n")
    result = worker.run(timeout=60)
    assert result.returncode == 1
    assert "flamenco-worker.yaml: task_types" in result.stderr and "Traceback" not in result.stderr
    (worker.workdir / "flamenco-worker.yaml").write_text("")
    bad_url = WorkerProcess(tmp_path / "w", "http://", name="broken").run(timeout=60)
    assert bad_url.returncode == 1 and "-manager" in bad_url.stderr
    helped = WorkerProcess(tmp_path / "w", None).run("-help", timeout=60)
    assert helped.returncode == 0 and "-find-manager" in helped.stdout
    bad_flag = WorkerProcess(tmp_path / "w", None).run("-no-such-flag", timeout=60)
    assert bad_flag.returncode == 2


def test_immediate_status_change_aborts_the_running_task(tmp_path):
    manager = ManagerProcess(tmp_path / "manager")
    write_job_type(manager.scripts, "long_exec", SLEEPER_JOB)
    manager.start()
    api = manager.api()
    tag = f"asleep-{tmp_path.name}"
    worker = WorkerProcess(tmp_path / "w", manager.url, name="sleepy")
    try:
        _job_id, task_id = submit_sleeper(api, tag)
        worker.start()
        wait_until(lambda: len(processes_mentioning(tag)) >= 3, deadline_s=30, what="the task's processes")
        worker_id = credentials(worker)["worker_id"]
        request_status(api, worker_id, "asleep", lazy=False)
        # may-i-run answers "no, status change requested": the task stops, the next fetch gets the 423.
        wait_until(lambda: not processes_mentioning(tag), deadline_s=15, interval_s=0.1,
                   what="the task to be aborted")
        wait_status(api, worker_id, "asleep")
        assert api.get(f"/api/v3/tasks/{task_id}").json()["status"] == "queued"  # given back, not failed
        assert worker.proc.poll() is None
    finally:
        worker.stop()
        manager.stop()
