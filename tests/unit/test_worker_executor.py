"""Running a task: payloads, order, steps and failure reports, with a recording Manager."""

from __future__ import annotations

import sys
import threading

from flamenco_pkg.worker.buffer import Sent
from flamenco_pkg.worker.executor import Outcome, Services, run_task


class RecordingBuffer:
    """Stands in for the upstream buffer; answers 204, or 409 from a given update on."""

    def __init__(self, refuse_from: int | None = None) -> None:
        self.sent: list[dict] = []
        self.refuse_from = refuse_from
        self.last_rejection = ""

    def send(self, task_id: str, update: dict) -> Sent:
        if self.refuse_from is not None and len(self.sent) >= self.refuse_from:
            self.last_rejection = "the Manager no longer takes updates for this task (409)"
            return Sent.REASSIGNED
        self.sent.append(update)
        return Sent.DELIVERED


class NoManager:
    def call(self, *args, **kwargs):
        raise AssertionError("may-i-run must not be asked in a short task")


def services(buffer) -> Services:
    return Services(client=NoManager(), buffer=buffer, offer_output=lambda *_: None, find_ffmpeg=lambda: None,
                    may_i_run_s=3600)


def task(*commands) -> dict:
    return {"uuid": "7f0e3a43-1111-4222-8333-944455556666", "name": "t", "job": "j", "commands": list(commands)}


def cmd(name: str, steps: int = 0, **params) -> dict:
    return {"name": name, "parameters": params, "total_step_count": steps}


def test_successful_task_reports_start_logs_steps_and_completion():
    buffer = RecordingBuffer()
    result = run_task(task(cmd("echo", message="one"), cmd("echo", message="two")), services(buffer),
                      threading.Event())
    assert result.outcome is Outcome.COMPLETED
    assert buffer.sent == [
        {"activity": "Started", "taskStatus": "active"},
        {"log": 'echo: "one"'}, {"activity": "Progress", "steps_completed": 1},
        {"log": 'echo: "two"'}, {"activity": "Progress", "steps_completed": 2},
        {"activity": "Completed", "taskStatus": "completed"}]


def test_program_output_and_failure_reason_reach_the_log():
    buffer = RecordingBuffer()
    script = "print('rendering'); import sys; sys.exit(3)"
    result = run_task(task(cmd("exec", exe=sys.executable, args=["-c", script]),
                           cmd("echo", message="never")), services(buffer), threading.Event())
    assert result.outcome is Outcome.FAILED
    logs = [u["log"] for u in buffer.sent if "log" in u]
    assert logs[0].startswith("going to run:\n\n    ") and "> rendering\n" in logs[0]
    assert buffer.sent[-1] == {"activity": "Failed: command exited abnormally with code 3",
                               "log": "Failed: command exited abnormally with code 3", "taskStatus": "failed"}
    assert not any("never" in u.get("log", "") for u in buffer.sent)


def test_unknown_command_and_bad_parameters_fail_the_task():
    buffer = RecordingBuffer()
    assert run_task(task(cmd("render-everything")), services(buffer), threading.Event()).outcome is Outcome.FAILED
    assert buffer.sent[-1]["log"] == 'Failed: unknown command: "render-everything"'
    buffer = RecordingBuffer()
    run_task(task(cmd("sleep", duration_in_seconds=-2)), services(buffer), threading.Event())
    assert buffer.sent[-1]["taskStatus"] == "failed"
    assert "cannot be negative" in buffer.sent[-1]["activity"]


def test_a_program_that_cannot_start_fails_the_task():
    buffer = RecordingBuffer()
    run_task(task(cmd("exec", exe="/nonexistent/blender")), services(buffer), threading.Event())
    assert buffer.sent[-1]["taskStatus"] == "failed"
    assert "/nonexistent/blender" in buffer.sent[-1]["log"]


def test_commands_with_steps_do_not_add_one_at_the_end():
    buffer = RecordingBuffer()
    run_task(task(cmd("echo", steps=5, message="x")), services(buffer), threading.Event())
    assert not any("steps_completed" in u for u in buffer.sent)


def test_start_refused_means_the_task_is_not_run():
    buffer = RecordingBuffer(refuse_from=0)
    result = run_task(task(cmd("echo", message="x")), services(buffer), threading.Event())
    assert result.outcome is Outcome.ABANDONED and buffer.sent == []


def test_a_409_mid_task_stops_it_without_a_failure_report():
    buffer = RecordingBuffer(refuse_from=2)  # start and first log pass, the step is refused
    result = run_task(task(cmd("echo", message="a"), cmd("echo", message="b")), services(buffer),
                      threading.Event())
    assert result.outcome is Outcome.ABANDONED
    assert buffer.sent == [{"activity": "Started", "taskStatus": "active"}, {"log": 'echo: "a"'}]


def test_cancelled_task_reports_nothing_more():
    buffer = RecordingBuffer()
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    result = run_task(task(cmd("sleep", duration_in_seconds=30), cmd("echo", message="after")), services(buffer),
                      cancel)
    timer.join()
    assert result.outcome is Outcome.CANCELED
    assert buffer.sent == [{"activity": "Started", "taskStatus": "active"}]
