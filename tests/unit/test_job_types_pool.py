"""The job-type worker processes: limits stop scripts, not workers; lost workers are replaced."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from flamenco_pkg.manager.job_types import CompileError, JobTypeError, JobTypeRegistry
from flamenco_pkg.manager.job_types.pool import ScriptPool, WorkerLost

RUNAWAY = 'const JOB_TYPE = {label: "x", settings: []};\nfunction compileJob(job) { while (true) {} }\n'
HELLO = """const JOB_TYPE = {label: "Hello", settings: []};
function compileJob(job) { job.addTask(author.Task("hello", "misc")); }
"""


def make_job(job_type: str) -> dict:
    return {"id": "6a1b0d8e-8f55-4a3e-9a5e-0b6f1b1e7d11", "name": "job", "type": job_type, "priority": 50,
            "settings": {}, "metadata": {}, "worker_tag": "", "shaman_checkout_id": ""}


@pytest.fixture()
def pool():
    pool = ScriptPool(size=1)
    yield pool
    pool.close()


@pytest.fixture()
def folder(tmp_path):
    (tmp_path / "runaway.js").write_text(RUNAWAY)
    (tmp_path / "hello.js").write_text(HELLO)
    return tmp_path


def worker_pids(pool: ScriptPool) -> list[int]:
    return [worker.process.pid for worker in pool._idle]


def test_runaway_top_level_stopped_by_quickjs_and_the_worker_carries_on(pool, folder):
    (folder / "loops.js").write_text("while (true) {}\n")
    registry = JobTypeRegistry(folder, time_limit_s=0.3, pool=pool)
    before = worker_pids(pool)
    with pytest.raises(CompileError, match="took longer than 0.3 s"):
        registry.compile(make_job("loops"))
    assert [t.name for t in registry.compile(make_job("hello")).tasks] == ["hello"]
    assert worker_pids(pool) == before


def test_runaway_compile_stopped_by_the_cpu_timer_and_the_worker_replaced(pool, folder):
    registry = JobTypeRegistry(folder, time_limit_s=0.3, pool=pool)
    before = worker_pids(pool)
    began = time.monotonic()
    with pytest.raises(CompileError) as excinfo:
        registry.compile(make_job("runaway"))
    assert excinfo.value.message == "job type script runaway.js took longer than 0.3 s"
    assert time.monotonic() - began < 10
    assert [t.name for t in registry.compile(make_job("hello")).tasks] == ["hello"]
    assert worker_pids(pool) != before


def test_tasks_handed_over_while_the_script_runs(pool, folder):
    (folder / "many.js").write_text("""const JOB_TYPE = {label: "Many", settings: []};
function compileJob(job) {
  for (let i = 0; i < 5000; i++) job.addTask(author.Task("t" + i, "misc"));
  while (true) {}  // runs away once the first groups were handed over
}
""")
    registry = JobTypeRegistry(folder, time_limit_s=1.0, pool=pool)
    groups: list[int] = []
    with pytest.raises(CompileError, match="took longer than 1 s"):
        registry.compile(make_job("many"), on_tasks=lambda tasks, pairs: groups.append(len(tasks.uuids)))
    assert groups == [2000, 2000]  # the last 1000 were still in the script when it was stopped


def test_killed_worker_is_replaced(pool, folder):
    registry = JobTypeRegistry(folder, time_limit_s=30, pool=pool)
    [pid] = worker_pids(pool)
    threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
    with pytest.raises(WorkerLost) as excinfo:
        registry.compile(make_job("runaway"))
    assert excinfo.value.http_status == 500
    assert [t.name for t in registry.compile(make_job("hello")).tasks] == ["hello"]
    assert worker_pids(pool) not in ([], [pid])


def test_silent_worker_is_killed_and_replaced(pool, folder):
    JobTypeRegistry(folder, pool=pool)
    [pid] = worker_pids(pool)
    assert pool.request(("list", str(folder), 5.0, 2**28), silence_limit_s=30)  # booted and answering
    os.kill(pid, signal.SIGSTOP)  # alive, but not answering
    began = time.monotonic()
    with pytest.raises(WorkerLost, match="did not answer for 1 s"):
        pool.request(("list", str(folder), 5.0, 2**28), silence_limit_s=1)
    assert time.monotonic() - began < 10
    names = [t["name"] for t in pool.request(("list", str(folder), 5.0, 2**28), silence_limit_s=30)]
    assert names == ["echo-sleep-test", "hello", "runaway", "simple-blender-render"]
    assert pid not in worker_pids(pool)


def test_errors_keep_their_class_and_status(pool, folder):
    registry = JobTypeRegistry(folder, pool=pool)
    with pytest.raises(JobTypeError) as excinfo:
        registry.get_type("nope")
    assert (type(excinfo.value).__name__, excinfo.value.http_status) == ("JobTypeUnknown", 404)


def test_check_compiles_without_handing_back_tasks(pool, folder):
    registry = JobTypeRegistry(folder, time_limit_s=0.3, pool=pool)
    assert registry.check(make_job("hello")) is None
    with pytest.raises(CompileError):
        registry.check(make_job("runaway"))
