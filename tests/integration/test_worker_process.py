"""The subprocess runner on real processes: whole-tree kill, exit codes, output."""

from __future__ import annotations

import sys
import threading
import time
import uuid

import pytest

from flamenco_pkg.worker.commands.params import CommandError, TaskCanceled
from flamenco_pkg.worker.process import run_process
from tests.e2e.harness import processes_mentioning
from tests.integration.farm import wait_until


def test_cancel_kills_the_child_and_its_children():
    tag = f"flamenco-tree-{uuid.uuid4().hex}"
    # A shell with two grandchildren, one in the background holding the output pipe.
    nap = f"{sys.executable} -c 'import time; time.sleep(300)'"
    script = f"{nap} {tag}-a & {nap} {tag}-b; wait"
    cancel = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_process(["bash", "-c", script], lambda _line: None, cancel)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    wait_until(lambda: len(processes_mentioning(tag)) >= 3, deadline_s=10, what="the process tree")
    began = time.monotonic()
    cancel.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    wait_until(lambda: not processes_mentioning(tag), deadline_s=5, what="every process of the tree to end")
    assert time.monotonic() - began < 5
    assert len(errors) == 1 and isinstance(errors[0], TaskCanceled)


def test_output_lines_are_read_in_step_and_exit_codes_reported():
    lines: list[str] = []
    run_process([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"], lines.append,
                threading.Event())
    assert sorted(lines) == ["err", "out"]  # stderr is merged into the same pipe
    with pytest.raises(CommandError, match="^command exited abnormally with code 7$"):
        run_process([sys.executable, "-c", "raise SystemExit(7)"], lambda _l: None, threading.Event())
    with pytest.raises(CommandError, match="^command exited abnormally with code -1$"):
        run_process(["/bin/sh", "-c", "kill -9 $$"], lambda _l: None, threading.Event())
    with pytest.raises(CommandError, match="could not run /no/such/program"):
        run_process(["/no/such/program"], lambda _l: None, threading.Event())


def test_a_reporting_failure_stops_the_program():
    tag = f"flamenco-loud-{uuid.uuid4().hex}"

    def refuse(_line: str) -> None:
        raise RuntimeError("the Manager refused the log")

    with pytest.raises(RuntimeError, match="refused the log"):
        # The line comes from the grandchild itself, so it is alive when the refusal arrives.
        run_process(["bash", "-c", f"{sys.executable} -c 'import time; print(1, flush=True); time.sleep(300)' {tag}"],
                    refuse, threading.Event())
    wait_until(lambda: not processes_mentioning(tag), deadline_s=5, what="the refused program to end")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="oom_score_adj is Linux only")
def test_children_get_the_configured_oom_score_adjustment():
    lines: list[str] = []
    run_process(["cat", "/proc/self/oom_score_adj"], lines.append, threading.Event(), oom_score_adjust=500)
    assert lines == ["500"]
    with open("/proc/self/oom_score_adj", encoding="ascii") as f:
        assert f.read().strip() != "500"  # only the child's score changed
