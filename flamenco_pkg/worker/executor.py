"""Runs one assigned task: its commands in order, reporting as upstream Workers do.

Reports go out through the upstream buffer (so they survive a Manager that
is away). A second thread asks "may I keep running?" every 10 s; a "no" sets
the task's cancel event, which kills the running program's process tree,
and from then on nothing more is reported for the task.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .buffer import Sent, UpstreamBuffer
from .chunker import LogChunker
from .client import ManagerClient, Unreachable
from .commands import COMMANDS, CommandContext, go_platform
from .commands.params import CommandError, TaskCanceled
from .process import quote_argv, run_process
from .slotlog import child_thread_name
from .states import MAY_I_RUN_S, after_may_i_run

log = logging.getLogger("flamenco.worker.task")


class ReportRefused(Exception):
    """The Manager answered a task update with something other than 204."""

    def __init__(self, message: str, reassigned: bool) -> None:
        super().__init__(message)
        self.reassigned = reassigned


class TaskReporter:
    """Task updates with upstream's payloads; nothing is sent once the task is cancelled."""

    def __init__(self, buffer: UpstreamBuffer, task_id: str, cancel: threading.Event) -> None:
        self.buffer = buffer
        self.task_id = task_id
        self.cancel = cancel

    def send(self, update: dict[str, Any]) -> Sent:
        if self.cancel.is_set():
            raise TaskCanceled()
        result = self.buffer.send(self.task_id, update)
        if result is Sent.REASSIGNED:
            raise ReportRefused(self.buffer.last_rejection, reassigned=True)
        if result is Sent.REJECTED:
            raise ReportRefused(self.buffer.last_rejection, reassigned=False)
        return result

    def started(self) -> Sent:
        return self.send({"activity": "Started", "taskStatus": "active"})

    def progress(self, steps: int) -> Sent:
        return self.send({"activity": "Progress", "steps_completed": steps})

    def log(self, text: str) -> Sent:
        return self.send({"log": text})

    def failed(self, error: str) -> Sent:
        return self.send({"activity": f"Failed: {error}", "log": f"Failed: {error}", "taskStatus": "failed"})

    def completed(self) -> Sent:
        return self.send({"activity": "Completed", "taskStatus": "completed"})


class Outcome(enum.Enum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"      # the Manager said stop, or the Worker is shutting down
    ABANDONED = "abandoned"    # the Manager refused our reports; the task is not ours


@dataclass
class TaskResult:
    outcome: Outcome
    state_change_requested: bool = False


@dataclass
class Services:
    """What running a task needs from the Worker."""

    client: ManagerClient
    buffer: UpstreamBuffer
    offer_output: Callable[[str, str], None]  # (task_id, path) -> last-rendered uploader
    find_ffmpeg: Callable[[], str | None]
    oom_score_adjust: int | None = None
    may_i_run_s: float = MAY_I_RUN_S
    child_env: dict[str, str] = field(default_factory=dict)  # a GPU slot's device and temp folder
    blender_args: tuple[str, ...] = ()                        # a GPU slot's Cycles device selection


def run_task(task: dict[str, Any], services: Services, cancel: threading.Event) -> TaskResult:
    task_id = task["uuid"]
    label = f'task {task_id} ("{task.get("name", "")}" of job {task.get("job", "?")})'
    reporter = TaskReporter(services.buffer, task_id, cancel)
    try:
        reporter.started()
    except TaskCanceled:
        log.info("not starting %s: the Worker is shutting down", label)
        return TaskResult(Outcome.CANCELED)
    except ReportRefused as exc:
        log.warning("abandoning %s: the Manager refused its start: %s", label, exc)
        return TaskResult(Outcome.ABANDONED)

    log.info("running %s: %d commands", label, len(task.get("commands", [])))
    began = time.monotonic()
    watch = MayIRunWatch(services.client, task_id, cancel, services.may_i_run_s)
    watch.start()
    try:
        outcome = _run_commands(task, services, reporter, cancel, label)
    finally:
        watch.stop()
    if watch.refused:
        log.info("stopped %s: the Manager says it may not keep running (%s)", label, watch.reason)
    elif outcome is not Outcome.ABANDONED:
        log.info("%s %s after %.1f s", label, outcome.value, time.monotonic() - began)
    return TaskResult(outcome, state_change_requested=watch.state_change)


def _run_commands(task: dict[str, Any], services: Services, reporter: TaskReporter,
                  cancel: threading.Event, label: str) -> Outcome:
    steps = 0
    task_id = task["uuid"]

    def step() -> None:
        nonlocal steps
        steps += 1
        try:
            reporter.progress(steps)
        except ReportRefused as exc:
            if exc.reassigned:
                raise  # not our task any more: stop working on it
            log.warning("%s: progress not accepted: %s", label, exc)

    def run(argv: list[str], hook: Callable[[str], None] | None) -> None:
        chunker = LogChunker(reporter.log)
        chunker.add(f"going to run:\n\n    {quote_argv(argv)}\n")
        pid = 0

        def started(child_pid: int) -> None:
            nonlocal pid
            pid = child_pid
            log.info("%s: started %s (pid %d)", label, argv[0], child_pid)

        def on_line(line: str) -> None:
            if hook is not None:
                hook(line)
            chunker.add(f"pid={pid} > {line}")

        try:
            run_process(argv, on_line, cancel, services.oom_score_adjust, on_start=started,
                        env=services.child_env)
        except CommandError:
            chunker.flush()
            raise
        chunker.flush()

    for command in task.get("commands", []):
        if cancel.is_set():
            return Outcome.CANCELED
        name = command.get("name", "")
        ctx = CommandContext(
            name=name, params=command.get("parameters") or {}, cancel=cancel, log=reporter.log, step=step,
            run=run, output_produced=lambda path: services.offer_output(task_id, path),
            platform=go_platform(), find_ffmpeg=services.find_ffmpeg, blender_args=services.blender_args)
        try:
            func = COMMANDS.get(name)
            if func is None:
                raise CommandError(f'unknown command: "{name}"')
            func(ctx)
        except TaskCanceled:
            return Outcome.CANCELED
        except ReportRefused as exc:
            if exc.reassigned:
                log.warning("stopped %s: %s", label, exc)
                return Outcome.ABANDONED
            return _fail(reporter, label, f"the Manager refused a report: {exc}")
        except CommandError as exc:
            return _fail(reporter, label, str(exc))
        except Exception as exc:  # noqa: BLE001 — a Worker bug fails the task, not the Worker
            log.exception("%s: command %s crashed", label, name)
            return _fail(reporter, label, f"{name}: internal error in the Worker: {exc}")
        if command.get("total_step_count", 0) <= 0:
            try:
                step()
            except TaskCanceled:
                return Outcome.CANCELED
            except ReportRefused as exc:
                log.warning("stopped %s: %s", label, exc)
                return Outcome.ABANDONED
    try:
        reporter.completed()
    except TaskCanceled:
        return Outcome.CANCELED
    except ReportRefused as exc:
        log.warning("%s finished, but the Manager refused the result: %s", label, exc)
        return Outcome.ABANDONED
    return Outcome.COMPLETED


def _fail(reporter: TaskReporter, label: str, error: str) -> Outcome:
    log.warning("%s failed: %s", label, error)
    try:
        reporter.failed(error)
    except TaskCanceled:
        return Outcome.CANCELED
    except ReportRefused as exc:
        log.warning("%s: the Manager refused the failure report: %s", label, exc)
    return Outcome.FAILED


class MayIRunWatch:
    """Asks every `period_s` whether the task may go on; a clear "no" cancels it."""

    def __init__(self, client: ManagerClient, task_id: str, cancel: threading.Event, period_s: float) -> None:
        self.client = client
        self.task_id = task_id
        self.cancel = cancel
        self.period_s = period_s
        self.refused = False
        self.state_change = False
        self.reason = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=child_thread_name(f"may-i-run-{task_id[:8]}"),
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(self.period_s):
            try:
                resp = self.client.call("GET", f"task/{self.task_id}/may-i-run", timeout=(10.0, 30.0))
                body = resp.json() if resp.status_code == 200 else None
            except Unreachable as exc:
                log.debug("may-i-run: Manager unreachable (%s); the task goes on", exc)
                continue
            except ValueError:
                continue
            decision = after_may_i_run(resp.status_code, body)
            if not decision.keep:
                self.refused, self.state_change, self.reason = True, decision.state_change, decision.reason
                self.cancel.set()
                return
