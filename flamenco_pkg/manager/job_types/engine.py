"""A throw-away QuickJS sandbox for running one job-type script.

Each list/get/compile call gets a fresh context, so no state leaks between
calls and an edited script takes effect immediately. Every context has a CPU
time limit and a memory limit, because the scripts are arbitrary JavaScript and
a runaway loop must not hang the Manager.

The QuickJS binding cannot call back into Python while a time limit is set, so
the whole host API lives in `prelude.js`; this module only passes JSON in and
reads JSON strings back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import queue
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import quickjs

# Without a CPU-time timer (Windows) tasks come out only once compileJob is done.
CPU_TIMER = hasattr(signal, "setitimer")

from .loader import ScriptFile

log = logging.getLogger("flamenco.jobtypes")

# Prepended to every script, on its first line so line numbers stay right:
# strict mode as upstream requires, plus a marker that proves parsing worked.
_SCRIPT_PREFIX = '"use strict";globalThis.__flamencoScriptStarted=true;'

_PARSE_LOCATION_RE = re.compile(r"at <input>:(\d+):(\d+)")
_FRAME_RE = re.compile(r"^\s+at (\S+) \(<input>:(\d+):(\d+)\)", re.MULTILINE)

# Tasks handed out at a time while compileJob runs (see Sandbox.compile).
STREAM_EVERY = 2000

# Headroom granted after an out-of-memory, just enough to fetch print() output.
_CLEANUP_MEMORY = 16 * 2**20
_CLEANUP_TIME_S = 1.0


@dataclass(frozen=True)
class SandboxLimits:
    time_limit_s: float
    memory_limit_bytes: int


class ScriptSyntaxError(Exception):
    """The script does not parse; upstream treats such a file as not being there."""


class ScriptFailure(Exception):
    """The script ran but failed; `message` is meant for the API reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ScriptLimitExceeded(ScriptFailure):
    """The script hit the CPU time or memory limit."""


def split_rows(text: str) -> tuple[list, list[str]]:
    """The prelude's tasks text: a JSON array of columns, then one commands JSON line per task."""
    columns, newline, commands = text.partition("\n")
    return json.loads(columns), commands.split("\n") if newline else []


@contextlib.contextmanager
def _kernel_cpu_limit(seconds: float) -> Iterator[None]:
    """Let the kernel stop this process (SIGPROF) once it has used `seconds` more CPU.

    For script runs that call back into Python, which QuickJS's own time
    limit forbids. This process is a job-type worker: the Manager sees it
    die of SIGPROF, reports the time limit, and starts a new worker.
    """
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


@lru_cache(maxsize=1)
def _prelude_source() -> str:
    return resources.files(__package__).joinpath("prelude.js").read_text(encoding="utf-8")


def manager_platform() -> str:
    """The Manager's OS in Go's GOOS spelling (linux, windows, darwin, ...)."""
    return platform.system().lower() or "unknown"


def _limit_text(seconds: float) -> str:
    return f"{seconds:g} s"


def _mib_text(size: int) -> str:
    return f"{size / 2**20:g} MiB"


class Sandbox:
    """One QuickJS context running one script. Use as a context manager."""

    def __init__(self, script: ScriptFile, limits: SandboxLimits, modules: dict[str, str] | None = None) -> None:
        self.script = script
        self.limits = limits
        self._cpu_deadline = time.process_time() + limits.time_limit_s
        self._ctx = quickjs.Context()
        self._ctx.set_memory_limit(limits.memory_limit_bytes)
        self._out_of_memory = False
        self._rows_queue: queue.SimpleQueue | None = None  # rows handed out while compileJob runs
        self._host_error: BaseException | None = None
        self._ctx.add_callable("__flamencoHost", self._host_call)  # the prelude takes it off the global scope
        host = {
            "filename": script.filename,
            "platform": manager_platform(),
            "cwd": os.getcwd(),
            "seed": [int.from_bytes(os.urandom(4), "little") for _ in range(4)],
            "modules": modules or {},
            "prefixLength": len(_SCRIPT_PREFIX),
        }
        install = self._run(lambda: self._ctx.eval(_prelude_source()), "setting up")
        self._control = self._run(lambda: install(self._ctx.parse_json(json.dumps(host))), "setting up")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._flush_messages()

    # -- running code under the limits ------------------------------------

    def _arm_time_limit(self) -> None:
        remaining = self._cpu_deadline - time.process_time()
        if remaining <= 0:
            raise self._timeout()
        self._ctx.set_time_limit(remaining)

    def _timeout(self) -> ScriptLimitExceeded:
        return ScriptLimitExceeded(
            f"job type script {self.script.filename} took longer than {_limit_text(self.limits.time_limit_s)}")

    def _out_of_memory_error(self) -> ScriptLimitExceeded:
        self._out_of_memory = True
        return ScriptLimitExceeded(
            f"job type script {self.script.filename} ran out of memory "
            f"(limit {_mib_text(self.limits.memory_limit_bytes)})")

    def _near_memory_limit(self) -> bool:
        try:
            used = self._ctx.memory()["malloc_size"]
        except Exception:  # noqa: BLE001 - diagnostics only
            return False
        return used >= self.limits.memory_limit_bytes - 256 * 1024

    def _run(self, action: Any, doing: str) -> Any:
        """Run JS, turning limit hits into ScriptLimitExceeded; other JS errors propagate."""
        self._arm_time_limit()
        try:
            return action()
        except quickjs.JSException as err:
            text = str(err)
            if text.startswith("InternalError: interrupted"):
                raise self._timeout() from None
            # A bare `null` is what QuickJS throws when it cannot even allocate the error.
            if "out of memory" in text or text.split("\n", 1)[0] == "null" or self._near_memory_limit():
                raise self._out_of_memory_error() from None
            raise

    def _call_control(self, method: str, *args: Any) -> dict:
        """Call a prelude control function; it returns a JSON string."""
        return self._checked(json.loads(self._call_control_text(method, *args)))

    def _call_control_text(self, method: str, *args: Any) -> str:
        try:
            return self._run(lambda: self._control(method, *args), method)
        except quickjs.JSException as err:
            # The control functions catch script errors themselves; landing here
            # means something like a stack overflow while reporting an error.
            raise ScriptFailure(self._describe_exception(str(err))) from None

    def _checked(self, payload: dict) -> dict:
        if not payload.get("ok") and (payload.get("outOfMemory") or self._near_memory_limit()):
            raise self._out_of_memory_error()
        return payload

    # -- operations -------------------------------------------------------

    def run_script(self) -> None:
        """Run the script's top level (defines JOB_TYPE and compileJob)."""
        source = _SCRIPT_PREFIX + self.script.source
        try:
            self._run(lambda: self._ctx.eval(source), "running")
        except quickjs.JSException as err:
            if not self._script_started():
                raise ScriptSyntaxError(self._describe_syntax_error(str(err))) from None
            raise ScriptFailure(
                f"script ({self.script.filename}) failed: {self._describe_exception(str(err))}") from None

    def job_type_info(self) -> dict:
        """JOB_TYPE as the API presents it (without name and etag)."""
        payload = self._call_control("jobTypeInfo")
        if not payload["ok"]:
            raise ScriptFailure(payload["error"])
        return payload["info"]

    def compile(self, job_input: dict, on_rows: Callable[[list, list[str]], None], *, stream: bool = False) -> dict:
        """Call compileJob(job); returns its result (settings, metadata, badParameters).

        Every task reaches `on_rows(columns, commands)` in addTask order:
        `columns` is [uuids, names, types, numbers (priority, stepsTotal
        and dependency count of each task in turn), dependency uuids of all
        the tasks in a row],
        `commands` holds each task's commands JSON. With `stream`, rows come
        out in groups of STREAM_EVERY while the script runs, so the Manager
        stores them meanwhile; else all at the end. Only for a job-type
        worker process: the CPU limit is then enforced by a timer that
        kills the process (see `_kernel_cpu_limit`).
        """
        stream = stream and CPU_TIMER
        try:
            encoded = json.dumps({**job_input, "streamEvery": STREAM_EVERY if stream else 0},
                                 allow_nan=False, default=str)
        except ValueError as err:
            raise ScriptFailure(f"job cannot be passed to the job type script: {err}") from None
        argument = self._ctx.parse_json(encoded)
        if stream:
            # QuickJS releases the GIL while the script runs, so a thread of this process checks and
            # passes on each group of rows while the script goes on making the next (in order).
            self._rows_queue = queue.SimpleQueue()
            consumer = threading.Thread(target=self._pass_rows_on, args=(self._rows_queue, on_rows),
                                        name="job-type rows", daemon=True)
            consumer.start()
        try:
            if stream:
                text = self._call_streaming("compile", argument)
            else:
                text = self._call_control_text("compile", argument)
        finally:
            if stream:
                self._rows_queue.put(None)
                consumer.join()
                self._rows_queue = None
        if self._host_error is not None:
            raise self._host_error
        header, _, rows = text.partition("\n")
        payload = self._checked(json.loads(header))
        if not payload["ok"]:
            raise ScriptFailure(payload["error"])
        on_rows(*split_rows(rows))
        return payload

    def _call_streaming(self, method: str, *args: Any) -> str:
        """A control call that may call back into Python: QuickJS's time limit is off, the kernel's on."""
        remaining = self._cpu_deadline - time.process_time()
        if remaining <= 0:
            raise self._timeout()
        self._ctx.set_time_limit(-1)
        try:
            with _kernel_cpu_limit(remaining):
                return self._control(method, *args)
        except quickjs.JSException as err:
            text = str(err)
            if "out of memory" in text or text.split("\n", 1)[0] == "null" or self._near_memory_limit():
                raise self._out_of_memory_error() from None
            raise ScriptFailure(self._describe_exception(text)) from None

    def _host_call(self, kind: str, text: str) -> None:
        """The prelude handing out rows: queued for `_pass_rows_on`. Never raises into the script."""
        if kind == "rows" and self._rows_queue is not None:
            self._rows_queue.put(text)

    def _pass_rows_on(self, texts: queue.SimpleQueue, on_rows: Callable[[list, list[str]], None]) -> None:
        """The rows thread: each group in turn to `on_rows`; errors wait for compile()."""
        while (text := texts.get()) is not None:
            if self._host_error is not None:
                continue  # after a failure no more rows go on; compile() reports it
            try:
                on_rows(*split_rows(text))
            except BaseException as err:  # noqa: BLE001 - re-raised by compile() once the script is done
                self._host_error = err

    # -- helpers ----------------------------------------------------------

    def _script_started(self) -> bool:
        try:
            self._ctx.set_time_limit(_CLEANUP_TIME_S)
            return self._ctx.eval("globalThis.__flamencoScriptStarted === true") is True
        except quickjs.JSException:
            return True  # cannot tell; do not hide a runtime failure as a syntax error

    def _describe_syntax_error(self, text: str) -> str:
        """`SyntaxError: ... at x.js:3:7` from QuickJS's `... at <input>:3:7`."""
        message, _, rest = text.strip().partition("\n")
        where = _PARSE_LOCATION_RE.search(rest)
        if not where:
            return message
        line, column = int(where.group(1)), int(where.group(2))
        if line == 1:
            column = max(1, column - len(_SCRIPT_PREFIX))
        return f"{message} at {self.script.filename}:{line}:{column}"

    def _describe_exception(self, text: str) -> str:
        """`Error: boom` plus the first script location, from QuickJS's exception text."""
        lines = text.rstrip("\n").split("\n")
        frame_start = next((i for i, line in enumerate(lines) if line.startswith("    at ")), len(lines))
        message_lines = lines[:frame_start]
        if frame_start == len(lines) and len(message_lines) > 1 and message_lines[-1] == "undefined":
            message_lines = message_lines[:-1]  # a thrown non-Error has no stack
        message = "\n".join(message_lines)
        frame = _FRAME_RE.search("\n".join(lines[frame_start:]))
        if frame:
            function, line, column = frame.group(1), int(frame.group(2)), int(frame.group(3))
            if line == 1:
                column = max(1, column - len(_SCRIPT_PREFIX))
            message += f" at {function} ({self.script.filename}:{line}:{column})"
        return message

    def _flush_messages(self) -> None:
        """Log what the script print()ed / alert()ed, naming the script."""
        try:
            if self._out_of_memory:
                self._ctx.set_memory_limit(self.limits.memory_limit_bytes + _CLEANUP_MEMORY)
                self._ctx.gc()
            self._ctx.set_time_limit(_CLEANUP_TIME_S)
            payload = json.loads(self._control("drainMessages"))
        except Exception as err:  # noqa: BLE001 - logging must never mask the real outcome
            log.debug("could not collect print() output of %s: %s", self.script.filename, err)
            return
        for level, text in payload["messages"]:
            log.log(logging.WARNING if level == "warning" else logging.INFO,
                    "job type script %s: %s", self.script.filename, text)
        if payload["dropped"]:
            log.warning("job type script %s: %d more print()/alert() messages were dropped",
                        self.script.filename, payload["dropped"])
