"""Farm load: the built Manager zipapp under many Workers, big jobs and long lists.

Measures, over real HTTP on 127.0.0.1 (issue 9):

1. dispatch: N simulated Workers (default 1000) loop ask for a task → complete
   it at once on one 100,000-task `echo-sleep-test` job, over keep-alive
   connections: dispatches/s, p50/p99 of the task request, errors;
2. the same client against bench/bare_server.py (Bottle + gevent + SQLite doing
   only the pick-and-update over 100,000 rows) in the same run, and the ratios;
3. stalls: p50/p99/max of a Worker's GET /api/v3/worker/state polled at 20 Hz
   while a 100,000-task job is submitted, while 3,000 jobs are listed, and
   while the 100,000-task job's tasks are listed;
4. hand-out latency of POST /api/v3/worker/task with 3,000 and 10,000 queued
   jobs of equal priority;
5. how long the Manager takes to accept the 100,000-task job.

`python -m bench.bench_farm --help` for the flags; `make bench` runs it with
the defaults and it writes its section of docs/benchmarks.md. With
FLAMENCO_BENCH_SOURCE=1 the Manager runs from the source tree instead of the
zipapp (for profiling with py-spy between builds; record figures from the zipapp).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402
from bench.farm_clients import (DispatchResult, SimWorker, StallResult, dispatch_load,  # noqa: E402
                                handout_latency, measure_stall, percentile, register_workers)
from bench.farm_procs import BareProc, ManagerProc  # noqa: E402

PARTS = ("dispatch", "stall", "handout")
SECTION = "farm"


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_farm", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=env_int("FLAMENCO_BENCH_WORKERS", 1000),
                        help="simulated Workers in the dispatch test (env FLAMENCO_BENCH_WORKERS; default 1000)")
    parser.add_argument("--window", type=float, default=env_int("FLAMENCO_BENCH_WINDOW", 20),
                        help="seconds measured per dispatch run (env FLAMENCO_BENCH_WINDOW; default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the window (default 3)")
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the big job (default 100000)")
    parser.add_argument("--jobs", default="3000,10000",
                        help="queued-job counts for the hand-out test; the first is also listed (default 3000,10000)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)} (default: all)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = args.parts - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    args.jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    return args


def ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1e3:.1f} ms"


def ratio(a: float, b: float) -> str:
    return "n/a" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}"


class Run:
    """Collects printed lines and the Markdown rows of this run's section."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.notes: list[str] = []
        self.manager_dispatch: DispatchResult | None = None
        self.bare_dispatch: DispatchResult | None = None
        self.load_before = self.load_after = 0.0

    def figure(self, label: str, value: str, target: str = "") -> None:
        print(f"farm: {label}: {value}" + (f" [target: {target}]" if target else ""), flush=True)
        self.rows.append((label, value, target))

    def note(self, text: str) -> None:
        print(f"farm: note: {text}", flush=True)
        self.notes.append(text)


# --- parts -------------------------------------------------------------------------


def big_job_body(n_tasks: int) -> dict:
    """An echo-sleep-test job of `n_tasks` tasks: one echo, then n-1 sleeps that depend on it."""
    return {"name": f"farm bench, {n_tasks} tasks", "type": "echo-sleep-test", "priority": 50,
            "submitter_platform": "linux",
            "settings": {"message": "farm benchmark", "sleep_duration_seconds": 1, "sleep_repeats": n_tasks - 1}}


def stall_line(run: Run, label: str, res: StallResult) -> None:
    run.figure(f"worker/state while {label}",
               f"p50 {ms(res.p(50))}, p99 {ms(res.p(99))}, max {ms(res.worst)} "
               f"({len(res.latencies)} polls, {res.errors} errors; the request took {res.op_s:.2f} s, "
               f"HTTP {res.op_status})", "p99 < 100 ms, max < 500 ms")


def dispatch_line(run: Run, who: str, res: DispatchResult) -> None:
    errors = ", ".join(f"{k} ×{v}" for k, v in res.errors.most_common()) or "none"
    run.figure(f"dispatch, {who}",
               f"{res.rate:.0f} dispatches/s, ask p50 {ms(res.p(50))}, p99 {ms(res.p(99))}, "
               f"{res.workers} Workers, {res.dispatches} dispatches in {res.window_s:.0f} s, "
               f"{res.no_task} asks without a task, {res.unfinished} asks unanswered at the end, errors: {errors}; "
               f"server CPU {res.server_cpu_ms_per_dispatch:.2f} ms per dispatch; "
               f"CPU: server {res.server_cpu_s / res.window_s:.0%}, client {res.client_cpu_s / res.window_s:.0%} "
               "of a core")
    if res.client_cpu_s / res.window_s > 0.85:
        run.note(f"the client used {res.client_cpu_s / res.window_s:.0%} of a core against the {who}: "
                 "that figure may be client-bound")


def part_manager_big_job(run: Run, args, tmp: Path) -> None:
    """Submit the big job (stall a, figure 5), list its tasks (stall c), then the dispatch load.

    When the Manager refuses the job (today's 5 s script limit does at
    100,000 tasks), the same job is written into its database directly and
    the Manager restarted, so the other figures can still be taken.
    """
    manager = ManagerProc(tmp / "manager-big").start()
    try:
        probe_workers, _, _ = register_workers(manager.port, 1, "probe")
        if not probe_workers:
            run.note("the probe Worker could not register; stall figures skipped")
            return
        probe = probe_workers[0]
        idle = []
        for _ in range(30):
            t0 = time.perf_counter()
            if probe.conn.request("GET", "/api/v3/version").status == 200:
                idle.append(time.perf_counter() - t0)
        run.figure("idle Manager, GET /api/v3/version over keep-alive",
                   f"p50 {ms(percentile(idle, 50))} ({len(idle)} of 30 answered; about 40 ms means Nagle's "
                   "algorithm meets the client's delayed ACK: see above)")
        res, payload = measure_stall(probe, manager.port, f"submitting a {args.tasks:,}-task job",
                                     "POST", "/api/v3/jobs", big_job_body(args.tasks))
        run.figure(f"{args.tasks:,}-task job accepted in", f"{res.op_s:.2f} s (HTTP {res.op_status})", "< 2 s")
        if "stall" in args.parts:
            stall_line(run, f"a {args.tasks:,}-task job is submitted", res)
        if res.op_status == 200:
            job_id = json.loads(payload)["id"]
        else:
            from bench.farm_fill import add_big_job

            run.note(f"the {args.tasks:,}-task job was refused ({payload[:200].decode(errors='replace')}); "
                     "the same job was then written into the database directly and the Manager restarted")
            probe.close()
            manager.stop()
            job_id = add_big_job(manager.db_path, args.tasks)
            manager.start()
        if "stall" in args.parts:
            res, payload = measure_stall(probe, manager.port, "listing its tasks", "GET", f"/api/v3/jobs/{job_id}/tasks")
            stall_line(run, f"the {args.tasks:,}-task job's tasks are listed ({len(payload) / 1e6:.0f} MB)", res)
        probe.close()
        if "dispatch" not in args.parts:
            return
        workers, failed, took = register_workers(manager.port, args.workers, "sim")
        run.figure("Workers registered and awake", f"{len(workers)} in {took:.1f} s ({failed} failed)")
        if not workers:
            return
        # The job's first task (echo) is what every other task waits for: run it
        # first, so the load measures the steady state and not a farm-wide wait.
        start = time.perf_counter()
        handed, _, _ = handout_latency(workers[0], max_asks=3, max_s=120)
        if not handed:
            run.note("the big job's first task was not handed out before the load")
        run.figure("first task of the big job handed out and completed in", f"{time.perf_counter() - start:.2f} s")
        # Its completion releases the other 99,999 in batches (db/dependencies.py): a one-off that
        # the steady state the load measures comes after. The Manager's database tells when it is done.
        start = time.perf_counter()
        if not wait_for_dependency_releases(manager.db_path, deadline_s=120):
            run.note("the big job's tasks were still being released when the load started")
        run.figure("its dependents released in", f"{time.perf_counter() - start:.2f} s")
        res = dispatch_load(workers, warmup_s=args.warmup, window_s=args.window, server_cpu=manager.cpu_seconds)
        for w in workers:
            w.close()
        run.manager_dispatch = res
        dispatch_line(run, "Manager", res)
    finally:
        manager.stop()


def wait_for_dependency_releases(db_path: Path, deadline_s: float) -> bool:
    """Poll the Manager's database (read-only) until no dependency release is queued; False at the deadline."""
    import sqlite3

    conn = sqlite3.connect(f"{db_path.absolute().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        deadline = time.monotonic() + deadline_s
        while conn.execute("SELECT 1 FROM dependency_releases LIMIT 1").fetchone() is not None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True
    finally:
        conn.close()


def part_bare(run: Run, args, tmp: Path) -> None:
    with BareProc(tmp / "bare", args.tasks).start() as bare:
        workers = [SimWorker(bare.port, f"bare-{i:05d}") for i in range(args.workers)]
        for i, w in enumerate(workers):
            w.use_identity(f"bare-{i:05d}")
        res = dispatch_load(workers, warmup_s=args.warmup, window_s=args.window, server_cpu=bare.cpu_seconds)
        for w in workers:
            w.close()
    run.bare_dispatch = res
    dispatch_line(run, "bare server", res)


def part_many_jobs(run: Run, args, tmp: Path) -> None:
    """Hand-out latency at each queued-job count; the first count is also listed (stall b)."""
    from bench.farm_fill import add_queued_jobs

    manager = ManagerProc(tmp / "manager-jobs")
    manager.workdir.mkdir(parents=True, exist_ok=True)
    have = 0
    for count in sorted(args.jobs):
        start = time.perf_counter()
        have = add_queued_jobs(manager.db_path, count - have)
        filled = time.perf_counter() - start
        with manager.start():
            workers, _, _ = register_workers(manager.port, 2, f"jobs{count}")
            if len(workers) < 2:
                run.note(f"Workers could not register on the {count:,}-job Manager")
                continue
            worker, probe = workers
            if "stall" in args.parts and count == min(args.jobs):
                res, payload = measure_stall(probe, manager.port, "listing jobs", "GET", "/api/v3/jobs")
                stall_line(run, f"{have:,} jobs are listed ({len(payload) / 1e6:.1f} MB)", res)
            if "handout" in args.parts:
                lat, empty, errors = handout_latency(worker, max_asks=200, max_s=15)
                run.figure(f"hand-out with {have:,} queued jobs",
                           f"p50 {ms(percentile(lat, 50))}, p99 {ms(percentile(lat, 99))} "
                           f"({len(lat)} tasks handed out, {empty} asks without a task, {errors} errors; "
                           f"database filled in {filled:.1f} s)", "< 10 ms")
                if not lat:
                    run.note(f"no task was handed out with {have:,} jobs: does bench/farm_fill.py "
                             "still match the schema?")
            for w in workers:
                w.close()


# --- main ---------------------------------------------------------------------------


def write_doc(run: Run, args) -> None:
    lines = [
        "## Farm load (`bench/bench_farm.py`)",
        "",
        "The built `flamenco-manager.pyz` over real HTTP on 127.0.0.1; simulated Workers are greenlets with "
        "keep-alive connections in the benchmark's process. Latencies are client-side wall-clock. "
        "The bare server (`bench/bare_server.py`) is Bottle + gevent + SQLite doing only the pick-and-update "
        "over as many task rows, with TCP_NODELAY on its sockets; without it, gevent's WSGI server sends an "
        "answer's headers and body in two writes and Nagle's algorithm holds the body until the client's "
        "delayed ACK, about 40 ms on every answer that has a body. Server CPU per dispatch moves least when "
        "other work shares the machine; rates and latencies move with the load average shown.",
        "",
        f"Machine: {report.machine_line()}; load average {run.load_before:.1f} before the run, "
        f"{run.load_after:.1f} after (a load above the core count means other work shared the machine).",
        f"Run: `python -m bench.bench_farm --workers {args.workers} --window {args.window:g} "
        f"--parts {','.join(p for p in PARTS if p in args.parts)}`.",
        "",
        "| figure | value | target (issue 9) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {label} | {value} | {target} |" for label, value, target in run.rows]
    if run.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in run.notes]
    report.write_section(SECTION, "\n".join(lines))
    print(f"farm: figures written to {report.DOC.relative_to(REPO)}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv if argv is not None else (sys.argv[1:] if __name__ == "__main__" else []))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = Run()
    run.load_before = os.getloadavg()[0]
    print(f"farm: load average before the run {run.load_before:.1f} on {os.cpu_count()} cores", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flamenco-bench-farm-") as tmp_name:
        tmp = Path(tmp_name)
        steps = []
        if args.parts & {"dispatch", "stall"}:
            steps.append(part_manager_big_job)
        if "dispatch" in args.parts:
            steps.append(part_bare)
        if args.parts & {"handout", "stall"}:
            steps.append(part_many_jobs)
        for step in steps:
            try:
                step(run, args, tmp)
            except Exception as exc:  # a broken part must not hide the others' figures
                run.note(f"{step.__name__} failed: {type(exc).__name__}: {str(exc)[:500]}")
    m, b = run.manager_dispatch, run.bare_dispatch
    if m and b:
        run.figure("dispatch ratio Manager/bare",
                   f"rate {ratio(m.rate, b.rate)}, p99 {ratio(m.p(99), b.p(99))}, server CPU per dispatch "
                   f"{ratio(m.server_cpu_ms_per_dispatch, b.server_cpu_ms_per_dispatch)}",
                   "rate ≥ 0.5, p99 ≤ 2, no errors")
    run.load_after = os.getloadavg()[0]
    print(f"farm: finished in {time.perf_counter() - started:.0f} s", flush=True)
    if not args.no_doc:
        write_doc(run, args)


if __name__ == "__main__":
    main()
