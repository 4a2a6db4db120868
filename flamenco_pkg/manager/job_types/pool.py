"""A small pool of processes that run job-type scripts for the Manager.

QuickJS keeps the GIL while a script runs, so a script run inside the
Manager would stop every Worker call, page and Socket.IO ping until it ends
(up to its 5 s limit). Here scripts run in `pool_worker.py` processes; the
calling greenlet reads their socket through gevent (`wire.py`), so the
event loop keeps serving while a 100k-task job compiles or a runaway script
burns its limit, and even while a big reply trickles in from a busy worker.

Protocol: the Manager sends one pickled request tuple (log level and TZ
first); the worker answers with any number of ("alive", script file name)
heartbeats (one per sandbox it starts) and ("tasks", TaskGroup or None,
dependency pairs) messages (for a compile, often while the script still
runs), then one final ("done", result, logs), ("error", class name, message, HTTP
status, logs) or ("crash", traceback, logs). A worker that dies or stays
silent for `silence_limit_s` is killed and replaced. The CPU and memory
limits are enforced inside the worker: by QuickJS, which leaves the worker
usable, or, while compileJob hands out tasks, by a CPU-time timer that
stops the worker with SIGPROF (`ScriptOutOfTime`; a new worker takes its
place).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import gevent
import gevent.queue

from ..cooperative import yield_to_event_loop
from ... import wire
from .errors import JobTypeError

log = logging.getLogger("flamenco.jobtypes")

SEND_BUFFER = 2 * 2**20  # bytes; Linux doubles it for its bookkeeping
POOL_SIZE = 2  # this farm's Manager machines have 2 cores; more would only queue for them

# A plain `python -c`, not multiprocessing: its "spawn" re-runs the Manager's
# main module in the child, which is whatever script started the Manager.
_BOOT = "from flamenco_pkg.manager.job_types.pool_worker import main; main()"


class WorkerLost(JobTypeError):
    """The worker process died or stopped answering; it has been replaced."""


class ScriptOutOfTime(WorkerLost):
    """The worker was stopped at the script's CPU limit (see engine._kernel_cpu_limit)."""

    def __init__(self, filename: str) -> None:
        super().__init__(f"job type script {filename} used up its CPU time")
        self.filename = filename


class _Worker:
    """One worker process and the Manager's end of its socket pair."""

    def __init__(self) -> None:
        self.sock, theirs = socket.socketpair()
        # Room for a few MB of task groups on their way (the kernel caps it at net.core.wmem_max):
        # the script then never waits while the Manager is inside a storing transaction.
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.process = wire.start_helper(_BOOT, theirs)

    def call(self, request: tuple, on_tasks: Callable[[Any, list], None], silence_limit_s: float) -> tuple:
        """Send one request and return its final reply once `on_tasks` has had every group of tasks.

        Groups are read as the worker sends them and handed to `on_tasks` in
        another greenlet, so the worker's script never waits for the Manager
        to store the previous group (a socket buffer holds far less).
        """
        script = "?"
        consumer = _Consumer(on_tasks)
        try:
            self.sock.settimeout(silence_limit_s)
            # The worker logs at the level the Manager's log has now, and
            # formats local times in the Manager's time zone (TZ) of now.
            wire.send(self.sock, (log.getEffectiveLevel(), os.environ.get("TZ"), *request))
            while True:
                reply = wire.receive(self.sock)
                if reply[0] == "alive":
                    script = reply[1]  # a new sandbox started: the silence limit starts over
                elif reply[0] == "tasks":
                    consumer.put(reply[1], reply[2])
                    # The next group may be waiting already; receiving it would not yield.
                    yield_to_event_loop()
                else:
                    consumer.finish()
                    return reply
        except socket.timeout:
            raise WorkerLost(f"job type worker process did not answer for {silence_limit_s:g} s") from None
        except (EOFError, OSError) as err:
            if self._exit_status() == -signal.SIGPROF:
                raise ScriptOutOfTime(script) from None
            raise WorkerLost(f"job type worker process is gone (exit status {self.process.poll()}): {err}") from None
        finally:
            consumer.stop()

    def _exit_status(self) -> int | None:
        """The worker's exit status, once it has exited (it just closed its socket)."""
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        self.sock.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


class _Consumer:
    """Hands groups of tasks to `on_tasks` in a greenlet of its own, in order."""

    def __init__(self, on_tasks: Callable[[Any, list], None]) -> None:
        self._on_tasks = on_tasks
        self._queue: gevent.queue.Queue = gevent.queue.Queue()
        self._error: BaseException | None = None
        self._greenlet: gevent.Greenlet | None = None

    def put(self, rows: list, pairs: list) -> None:
        """Queue a group; raises what `on_tasks` raised for an earlier one."""
        self._raise_error()
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)
        self._queue.put((rows, pairs))

    def finish(self) -> None:
        """Wait until every group was handed over; raises what `on_tasks` raised."""
        if self._greenlet is not None:
            self._queue.put(None)
            self._greenlet.join()
            self._greenlet = None
        self._raise_error()

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()

    def _run(self) -> None:
        while (group := self._queue.get()) is not None:
            try:
                self._on_tasks(*group)
            except BaseException as err:  # noqa: BLE001 - raised in the caller's greenlet
                self._error = err
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error


class ScriptPool:
    """Up to `size` worker processes, started ahead of use, each running one request at a time."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._idle: list[_Worker] = []
        self._running = 0  # workers started and not stopped
        self._slots = threading.BoundedSemaphore(size)  # gevent's, in the monkey-patched Manager

    def start(self) -> None:
        """Start the missing workers now, so the first request does not wait for Python to boot."""
        while self._running < self.size:
            self._idle.append(_Worker())
            self._running += 1

    def request(self, request: tuple, *, on_tasks: Callable[[Any, list], None] = lambda tasks, pairs: None,
                silence_limit_s: float = 60.0) -> Any:
        """Run one request in a worker; returns its result or raises the JobTypeError it raised."""
        with self._slots:
            worker = self._idle.pop() if self._idle else self._new_worker()
            try:
                reply = worker.call(request, on_tasks, silence_limit_s)
            except BaseException as err:
                # Lost, or the caller was interrupted mid-reply: the pipe may hold
                # half an answer, so this worker cannot be trusted with another.
                self._discard(worker, err)
                raise
            self._idle.append(worker)
        return _unpack(reply)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().stop()
            self._running -= 1

    def _new_worker(self) -> _Worker:
        self._running += 1
        return _Worker()

    def _discard(self, worker: _Worker, err: BaseException) -> None:
        if isinstance(err, ScriptOutOfTime):
            log.info("%s; starting a new job type worker process", err.message)
        elif isinstance(err, WorkerLost):
            log.error("%s; starting a new one", err.message)
        worker.stop()
        self._running -= 1


_ERRORS: dict[str, type[JobTypeError]] = {}


def _unpack(reply: tuple) -> Any:
    """The result of a final reply, after logging the worker's log lines; errors are raised."""
    kind, *rest = reply
    for name, level, text in rest[-1]:
        logging.getLogger(name).log(level, "%s", text)
    if kind == "done":
        return rest[0]
    if kind == "error":
        class_name, message, http_status = rest[0], rest[1], rest[2]
        raise _error_class(class_name)(message, http_status=http_status)
    log.error("job type worker process failed:\n%s", rest[0])
    raise JobTypeError("internal error while running the job type script", http_status=500)


def _error_class(name: str) -> type[JobTypeError]:
    if not _ERRORS:
        from . import errors

        _ERRORS.update({cls.__name__: cls for cls in vars(errors).values()
                        if isinstance(cls, type) and issubclass(cls, JobTypeError)})
    return _ERRORS.get(name, JobTypeError)


_shared: ScriptPool | None = None


def shared_pool() -> ScriptPool:
    """The process-wide pool: every registry of this process shares its workers."""
    global _shared
    if _shared is None:
        _shared = ScriptPool()
    return _shared
