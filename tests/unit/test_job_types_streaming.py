"""Rows handed out while compileJob runs go on in a thread of their own, in order (engine.py)."""

from __future__ import annotations

import threading

import pytest

from flamenco_pkg.manager.job_types import engine
from flamenco_pkg.manager.job_types.engine import Sandbox, SandboxLimits
from flamenco_pkg.manager.job_types.loader import ScriptFile

pytestmark = pytest.mark.skipif(not engine.CPU_TIMER, reason="streaming needs setitimer (not on Windows)")

LIMITS = SandboxLimits(time_limit_s=20.0, memory_limit_bytes=64 * 2**20)
SCRIPT = """
const JOB_TYPE = {label: "T", settings: []};
function compileJob(job) {
  for (let i = 0; i < 10; i++) {
    const task = author.Task("t" + i, "misc");
    task.addCommand(author.Command("echo", {message: "m" + i}));
    job.addTask(task);
  }
}
"""
JOB = {"name": "job", "priority": 50, "jobType": "t", "settings": {}, "metadata": {}, "createdMs": 0,
       "jobID": "job-id", "workerTagUUID": "", "shamanCheckoutID": ""}


def compile_streaming(on_rows) -> dict:
    with Sandbox(ScriptFile("t", "t.js", "test", SCRIPT), LIMITS) as sandbox:
        sandbox.run_script()
        return sandbox.compile(JOB, on_rows, stream=True)


def test_groups_go_on_in_order_on_another_thread_while_the_script_runs(monkeypatch):
    monkeypatch.setattr(engine, "STREAM_EVERY", 3)
    seen: list[tuple[str, list[str]]] = []

    def on_rows(columns: list, _commands: list[str]) -> None:
        seen.append((threading.current_thread().name, columns[1]))

    compile_streaming(on_rows)
    names = [name for _thread, group in seen for name in group]
    assert names == [f"t{i}" for i in range(10)]
    during = [thread for thread, group in seen[:-1]]  # the last group comes after compileJob, on the caller
    assert len(during) == 3 and set(during) == {"job-type rows"}, seen


def test_a_failure_passing_rows_on_stops_later_groups_and_fails_the_compile(monkeypatch):
    monkeypatch.setattr(engine, "STREAM_EVERY", 3)
    calls = []

    def on_rows(columns: list, _commands: list[str]) -> None:
        calls.append(len(columns[0]))
        raise RuntimeError("storage refused")

    with pytest.raises(RuntimeError, match="storage refused"):
        compile_streaming(on_rows)
    assert calls == [3]  # the groups after the failing one were not passed on
