"""Simulated Workers for the farm benchmark: the dispatch loop and the stall probe.

All of them are greenlets in one process, each with its own keep-alive
connection (bench/httpclient.py). Every loop is bounded in time and count,
and errors are counted, never raised: a benchmark of a struggling server
must still finish and say how it struggled.
"""

from __future__ import annotations

import resource
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import gevent
import gevent.event
import gevent.pool

from bench.httpclient import HttpConn, HttpError

__all__ = ["DispatchResult", "SimWorker", "StallResult", "dispatch_load", "handout_latency",
           "measure_stall", "percentile", "register_workers"]

TASK_TYPES = ["blender", "ffmpeg", "file-management", "misc"]
HOST = "127.0.0.1"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class SimWorker:
    """One simulated Worker speaking the Worker API over its own connection."""

    def __init__(self, port: int, name: str, timeout: float = 60.0) -> None:
        self.name = name
        self.secret = secrets.token_hex(32)
        self.uuid = ""
        self.conn = HttpConn(HOST, port, timeout=timeout)

    def use_identity(self, uuid: str) -> None:
        """For a server without registration (the bare one): just send this id."""
        self.uuid = uuid
        self.conn.set_auth(uuid, self.secret)

    def register_and_wake(self) -> None:
        """register-worker, sign-on, state-changed awake: what a real Worker does at start."""
        resp = self.conn.request("POST", "/api/v3/worker/register-worker", {
            "secret": self.secret, "platform": "linux", "name": self.name, "supported_task_types": TASK_TYPES})
        _expect(resp, 200, "register-worker")
        self.use_identity(resp.json()["uuid"])
        resp = self.conn.request("POST", "/api/v3/worker/sign-on", {
            "name": self.name, "supported_task_types": TASK_TYPES, "software_version": "3.9-bench"})
        _expect(resp, 200, "sign-on")
        requested = resp.json().get("status_requested") or "awake"
        resp = self.conn.request("POST", "/api/v3/worker/state-changed", {"status": requested})
        _expect(resp, 204, "state-changed")

    def close(self) -> None:
        self.conn.close()


def _expect(resp, status: int, what: str) -> None:
    if resp.status != status:
        raise HttpError(f"{what}: HTTP {resp.status}: {resp.body[:200]!r}")


def register_workers(port: int, count: int, prefix: str, concurrency: int = 50,
                     deadline_s: float = 180) -> tuple[list[SimWorker], int, float]:
    """Register and wake `count` Workers; (the ready ones, failures, seconds taken)."""
    workers = [SimWorker(port, f"{prefix}-{i:05d}") for i in range(count)]
    ready: list[SimWorker] = []
    failures = 0
    start = time.perf_counter()
    end = start + deadline_s

    def one(worker: SimWorker) -> None:
        nonlocal failures
        if time.perf_counter() > end:
            failures += 1
            return
        try:
            worker.register_and_wake()
            ready.append(worker)
        except (HttpError, OSError, gevent.Timeout, ValueError, KeyError):
            failures += 1
            worker.close()

    pool = gevent.pool.Pool(concurrency)
    for worker in workers:
        pool.spawn(one, worker)
    pool.join()
    return ready, failures, time.perf_counter() - start


@dataclass
class DispatchResult:
    workers: int
    window_s: float
    dispatches: int = 0
    ask_latencies: list[float] = field(default_factory=list)
    complete_latencies: list[float] = field(default_factory=list)
    no_task: int = 0
    unfinished: int = 0
    errors: Counter = field(default_factory=Counter)
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.dispatches / self.window_s

    @property
    def server_cpu_ms_per_dispatch(self) -> float:
        """CPU the server spent per dispatch: unlike the rate, this barely moves when others share the machine."""
        return self.server_cpu_s * 1e3 / self.dispatches if self.dispatches else float("nan")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def p(self, pct: float) -> float:
        return percentile(self.ask_latencies, pct)


def dispatch_load(workers: list[SimWorker], *, warmup_s: float, window_s: float,
                  server_cpu: Callable[[], float], max_rounds: int = 100_000,
                  idle_wait_s: float = 0.05, grace_s: float = 15.0) -> DispatchResult:
    """Every Worker loops ask → complete at once; figures over `window_s` after `warmup_s`.

    A dispatch counts when its completion is answered inside the window; an
    ask's latency counts when the ask started inside it. The loops stop at the
    window's end (and after `max_rounds` each), then get `grace_s` to finish
    what is in flight; an ask still unanswered then counts with the time it has
    waited so far (a lower bound) and as unfinished, and its loop is killed.
    """
    result = DispatchResult(workers=len(workers), window_s=window_s)
    t_start = time.perf_counter()
    w_start = t_start + warmup_s
    w_end = w_start + window_s

    def count_error(kind: str, at: float) -> None:
        if w_start <= at <= w_end:
            result.errors[kind] += 1

    asking: dict[int, float] = {}  # worker index → start of its unanswered ask

    def loop(index: int, worker: SimWorker) -> None:
        conn = worker.conn
        for _ in range(max_rounds):
            t0 = time.perf_counter()
            if t0 >= w_end:
                return
            asking[index] = t0
            try:
                resp = conn.request("POST", "/api/v3/worker/task")
            except (HttpError, OSError, gevent.Timeout) as exc:
                count_error(f"ask: {type(exc).__name__}", t0)
                gevent.sleep(idle_wait_s)
                continue
            finally:
                asking.pop(index, None)
            t1 = time.perf_counter()
            if w_start <= t0 < w_end:
                result.ask_latencies.append(t1 - t0)
            if resp.status == 204:
                if t0 >= w_start:
                    result.no_task += 1
                gevent.sleep(idle_wait_s)
                continue
            if resp.status != 200:
                count_error(f"ask: HTTP {resp.status}", t0)
                gevent.sleep(idle_wait_s)
                continue
            try:
                task_uuid = resp.json()["uuid"]
                resp = conn.request("POST", f"/api/v3/worker/task/{task_uuid}",
                                    {"taskStatus": "completed", "activity": "done"})
            except (HttpError, OSError, gevent.Timeout, ValueError, KeyError) as exc:
                count_error(f"complete: {type(exc).__name__}", t1)
                continue
            t2 = time.perf_counter()
            if resp.status != 204:
                count_error(f"complete: HTTP {resp.status}", t1)
            elif w_start <= t2 <= w_end:
                result.dispatches += 1
                result.complete_latencies.append(t2 - t1)

    greenlets = [gevent.spawn(loop, i, w) for i, w in enumerate(workers)]
    gevent.sleep(max(0.0, w_start - time.perf_counter()))
    cpu0, server0 = _client_cpu(), server_cpu()
    gevent.sleep(max(0.0, w_end - time.perf_counter()))
    result.client_cpu_s, result.server_cpu_s = _client_cpu() - cpu0, server_cpu() - server0
    gevent.joinall(greenlets, timeout=grace_s)
    now = time.perf_counter()
    for t0 in list(asking.values()):
        if w_start <= t0 < w_end:
            result.ask_latencies.append(now - t0)
            result.unfinished += 1
    gevent.killall([g for g in greenlets if not g.dead], timeout=5)
    return result


@dataclass
class StallResult:
    what: str
    op_s: float
    op_status: int | str
    latencies: list[float]
    errors: int

    def p(self, pct: float) -> float:
        return percentile(self.latencies, pct)

    @property
    def worst(self) -> float:
        return max(self.latencies) if self.latencies else float("nan")


def measure_stall(worker: SimWorker, op_port: int, what: str, method: str, path: str, body: Any = None,
                  rate_hz: float = 20.0, before_s: float = 0.5, after_s: float = 0.5,
                  op_timeout_s: float = 120.0) -> tuple[StallResult, bytes]:
    """Latency of a Worker's GET /api/v3/worker/state, polled at `rate_hz`, while one request runs.

    The probed request goes over its own connection and its body is not
    parsed while the probe runs, so the client itself adds no stall. Polls
    whose interval overlaps the request count; (result, the request's body).
    """
    samples: list[tuple[float, float]] = []
    errors = 0
    stop = gevent.event.Event()
    period = 1.0 / rate_hz

    def poll() -> None:
        nonlocal errors
        for _ in range(int((before_s + after_s + op_timeout_s + 60) * rate_hz)):
            if stop.is_set():
                return
            t0 = time.perf_counter()
            try:
                resp = worker.conn.request("GET", "/api/v3/worker/state")
                if resp.status not in (200, 204):
                    errors += 1
            except (HttpError, OSError, gevent.Timeout):
                errors += 1
            t1 = time.perf_counter()
            samples.append((t0, t1))
            stop.wait(max(0.0, period - (t1 - t0)))

    poller = gevent.spawn(poll)
    gevent.sleep(before_s)
    conn = HttpConn(HOST, op_port, timeout=op_timeout_s)
    op_start = time.perf_counter()
    try:
        resp = conn.request(method, path, body)
        status: int | str = resp.status
        payload = resp.body
    except (HttpError, OSError, gevent.Timeout) as exc:
        status, payload = type(exc).__name__, b""
    op_end = time.perf_counter()
    conn.close()
    gevent.sleep(after_s)
    stop.set()
    poller.join(timeout=op_timeout_s)
    poller.kill()
    during = [t1 - t0 for t0, t1 in samples if t1 >= op_start and t0 <= op_end]
    return StallResult(what, op_end - op_start, status, during, errors), payload


def handout_latency(worker: SimWorker, *, max_asks: int, max_s: float) -> tuple[list[float], int, int]:
    """One Worker asks for a task and completes it at once, repeatedly.

    Returns (latencies of the asks that got a task, asks without a task, errors).
    """
    latencies: list[float] = []
    empty = errors = 0
    end = time.perf_counter() + max_s
    for _ in range(max_asks):
        if time.perf_counter() >= end:
            break
        t0 = time.perf_counter()
        try:
            resp = worker.conn.request("POST", "/api/v3/worker/task")
        except (HttpError, OSError, gevent.Timeout):
            errors += 1
            continue
        t1 = time.perf_counter()
        if resp.status == 204:
            empty += 1
            gevent.sleep(0.05)
            continue
        if resp.status != 200:
            errors += 1
            continue
        latencies.append(t1 - t0)
        try:
            done = worker.conn.request("POST", f"/api/v3/worker/task/{resp.json()['uuid']}",
                                       {"taskStatus": "completed", "activity": "done"})
            if done.status != 204:
                errors += 1
        except (HttpError, OSError, gevent.Timeout, ValueError, KeyError):
            errors += 1
    return latencies, empty, errors
