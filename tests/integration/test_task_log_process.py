"""The task-log writer process of a running Manager: killed, it is replaced without a 500 or a lost
line; it never outlives its Manager, however the Manager ends."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.integration.farm import ManagerProcess, ScriptedWorker, process_ended, wait_until

MARK = "task_log_process import main"


def writer_processes(manager_pid: int) -> list[int]:
    """PIDs of live task-log writer processes started by that Manager."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, parent = fields[0], int(fields[1])
        if MARK in cmdline and parent == manager_pid and state != "Z":
            found.append(int(entry.name))
    return found


def started(tmp_path: Path) -> tuple[ManagerProcess, ScriptedWorker, dict]:
    manager = ManagerProcess(tmp_path / "manager").start()
    api = manager.api()
    resp = api.post("/api/v3/jobs", json={"name": "logs", "type": "echo-sleep-test", "priority": 50,
                                          "submitter_platform": "linux",
                                          "settings": {"message": "m", "sleep_repeats": 1}})
    assert resp.status_code == 200, resp.text
    worker = ScriptedWorker(manager.url, name="logger").start()
    task = worker.ask_task().json()  # the hand-out's own lines start the writer process
    return manager, worker, task


def test_a_killed_writer_process_is_replaced_and_a_workers_lines_are_kept(tmp_path):
    manager, worker, task = started(tmp_path)
    try:
        api = manager.api()
        assert worker.update(task["uuid"], log="frame 1\n").status_code == 204
        [first] = writer_processes(manager.proc.pid)
        os.kill(first, signal.SIGKILL)
        # The Worker keeps what was not accepted and sends it again, as it does after any 5xx.
        answers = []
        for _attempt in range(5):
            resp = worker.update(task["uuid"], log="frame 2\n")
            answers.append(resp.status_code)
            if resp.status_code == 204:
                break
            assert resp.status_code == 503, resp.text
            assert "task-log writer" in resp.json()["message"]
        assert answers[-1] == 204, answers
        tail = api.get(f"/api/v3/tasks/{task['uuid']}/logtail").text
        assert tail.endswith("frame 1\nframe 2\n") and tail.count("frame 2") == 1, tail
        [second] = writer_processes(manager.proc.pid)
        assert second != first
    finally:
        manager.stop()
    assert "Traceback" not in manager.log_text()


def writing(tmp_path: Path) -> tuple[ManagerProcess, dict, int]:
    """A Manager whose writer process has written a Worker's line: (manager, task, writer PID)."""
    manager, worker, task = started(tmp_path)
    try:
        assert worker.update(task["uuid"], log="frame 1\n").status_code == 204
        [writer] = writer_processes(manager.proc.pid)
    except BaseException:
        manager.stop()
        raise
    return manager, task, writer


def test_the_writer_process_ends_with_its_manager_also_when_the_manager_is_killed(tmp_path):
    manager, _task, writer = writing(tmp_path)
    manager.stop(signal.SIGKILL)
    # The end of its socket's input tells it; it is then reparented, so look for the PID itself.
    wait_until(lambda: process_ended(writer), deadline_s=10,
               what="the task-log writer process to end after its Manager was killed")


def test_stopping_the_manager_writes_the_queued_lines_and_leaves_no_process(tmp_path):
    manager, task, writer = writing(tmp_path)
    try:
        log_file = next(manager.storage.rglob(f"task-{task['uuid']}.txt"))
    finally:
        code = manager.stop(signal.SIGINT)
    assert code == 0
    assert process_ended(writer)
    assert log_file.read_text().endswith("frame 1\n")
