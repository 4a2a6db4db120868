"""No idle Workers (issue 11): how soon work reaches a Worker.

Three figures, each against a real Manager over loopback:

1. Two real Workers, a job of 40 zero-second tasks: wall-clock from the job
   being queued to it being completed, and the mean gap between a task's
   completion and the same Worker's next task becoming active (goal < 100 ms;
   upstream's waits make it ~5 s).
2. Idle Workers, then a job queued: time to its first task active
   (goal < 100 ms; upstream up to ~23 s).
3. 1000 idle long-polling Workers (simulated, holding `X-Flamenco-Wait`
   requests): the Manager's CPU use while they wait, and that one queued task
   goes to exactly one of them.

Times come from Socket.IO events as this process receives them, so both ends
of a gap are measured the same way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402
from tests.e2e.harness import WorkerProcess  # noqa: E402
from tests.integration.farm import Api, ManagerProcess, ScriptedWorker, wait_until  # noqa: E402
from tests.integration.live import LiveClient  # noqa: E402


LINES: list[str] = []


def say(line: str) -> None:
    print(line)
    LINES.append(line)


def echo_job(name: str, repeats: int, *, paused: bool = True) -> dict:
    body = {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": name, "sleep_duration_seconds": 0, "sleep_repeats": repeats}}
    if paused:
        body["initial_status"] = "paused"
    return body


def workers_awake(api: Api, n: int) -> bool:
    workers = api.get("/api/v3/worker-mgt/workers", check=False).json()["workers"]
    return sum(1 for w in workers if w["status"] == "awake") >= n


def queue_and_watch(api: Api, live: LiveClient, job_id: str, timeout_s: float = 120) -> float:
    """Queue a paused job; returns the monotonic time it was queued."""
    live.subscribe("job", job_id)
    start = time.monotonic()
    resp = api.post(f"/api/v3/jobs/{job_id}/setstatus", json={"status": "queued", "reason": "bench"})
    assert resp.status_code == 204, resp.text
    return start


class Stamped(LiveClient):
    """A LiveClient that notes when each event arrived."""

    def __init__(self, url: str) -> None:
        self.stamps: list[tuple[float, str, dict]] = []
        super().__init__(url)

    def _recorder(self, name):
        inner = super()._recorder(name)

        def record(payload):
            self.stamps.append((time.monotonic(), name, payload))
            inner(payload)
        return record


def bench_real_workers(tmp: Path, n_tasks: int = 40) -> None:
    manager = ManagerProcess(tmp / "manager").start()
    api = manager.api()
    workers = [WorkerProcess(tmp / f"w{i}", manager.url, name=f"bench-{i}").start() for i in range(2)]
    live = Stamped(manager.url)
    try:
        live.subscribe("allJobs")
        wait_until(lambda: workers_awake(api, 2), deadline_s=60, what="two awake Workers")
        time.sleep(1.0)  # let both Workers reach their idle wait (a held request, or upstream's sleep)

        # Figure 2: idle Workers, a job queued -> first task active.
        job = api.post("/api/v3/jobs", json=echo_job("first-task", 0)).json()
        start = queue_and_watch(api, live, job["id"])
        live.wait_for("/task", lambda p: p["job_id"] == job["id"] and p["status"] == "active", deadline_s=60)
        first_active = next(t for t, n, p in live.stamps
                            if n == "/task" and p["job_id"] == job["id"] and p["status"] == "active")
        live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "completed", deadline_s=60)
        say(f"idle workers, job queued -> first task active: {(first_active - start) * 1e3:8.1f} ms"
            " (goal < 100 ms; upstream's Worker up to ~23 s)")
        time.sleep(1.0)

        # Figure 1: 40 zero-second tasks on two Workers.
        job = api.post("/api/v3/jobs", json=echo_job("forty", n_tasks - 1)).json()
        start = queue_and_watch(api, live, job["id"])
        live.wait_for("/jobs", lambda p: p["id"] == job["id"] and p["status"] == "completed", deadline_s=600)
        done = next(t for t, n, p in live.stamps if n == "/jobs" and p["id"] == job["id"] and p["status"] == "completed")
        by_worker: dict[str, list[tuple[float, str]]] = {}
        for t, n, p in live.stamps:
            if n == "/task" and p["job_id"] == job["id"] and p["status"] in ("active", "completed") and "worker" in p:
                by_worker.setdefault(p["worker"]["name"], []).append((t, p["status"]))
        gaps = []
        for stamps in by_worker.values():
            for (t0, s0), (t1, s1) in zip(stamps, stamps[1:]):
                if s0 == "completed" and s1 == "active":
                    gaps.append(t1 - t0)
        mean_gap = statistics.mean(gaps) * 1e3 if gaps else float("nan")
        say(f"two workers, {n_tasks} zero-second tasks: queued -> completed {done - start:6.2f} s, "
            f"mean idle gap {mean_gap:7.1f} ms over {len(gaps)} gaps (goal < 100 ms; upstream ~5,000 ms)")
    finally:
        live.close()
        for w in workers:
            w.stop()
        manager.stop()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def bench_idle_crowd(tmp: Path, n_workers: int, window_s: float = 10.0) -> None:
    manager = ManagerProcess(tmp / "crowd").start()
    api = manager.api()
    try:
        crowd = []
        for i in range(n_workers):
            w = ScriptedWorker(manager.url, name=f"idle-{i}", task_types=["misc"])
            w.api.session.headers["X-Flamenco-Wait"] = "30"
            w.register()
            w.state_changed(w.sign_on())
            crowd.append(w)
        got: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def hold(w: ScriptedWorker) -> None:
            deadline = time.monotonic() + window_s + 30
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    resp = w.api.call("POST", "/api/v3/worker/task", check=False)
                except Exception:  # noqa: BLE001 — counted as no task
                    return
                if resp.status_code == 200:
                    with lock:
                        got.append(w.name)
                    return

        threads = [threading.Thread(target=hold, args=(w,), daemon=True) for w in crowd]
        for t in threads:
            t.start()
        time.sleep(3.0)  # every request is held by now
        cpu0, t0 = cpu_seconds(manager.proc.pid), time.monotonic()
        time.sleep(window_s)
        cpu = (cpu_seconds(manager.proc.pid) - cpu0) / (time.monotonic() - t0)
        api.post("/api/v3/jobs", json=echo_job("one-task", 0, paused=False))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not got:
            time.sleep(0.05)
        time.sleep(2.0)  # time for a second, wrong hand-out to show up
        say(f"{n_workers} idle long-polling workers: Manager CPU {cpu * 100:5.1f} % of one core while they wait; "
            f"one task handed to {len(got)} of them (goal: exactly 1)")
        stop.set()
    finally:
        manager.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1000, help="idle long-polling workers for figure 3")
    parser.add_argument("--only", choices=["real", "crowd"], help="run one part only")
    args = parser.parse_args(argv)
    LINES.clear()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "real"):
            bench_real_workers(Path(tmp))
        if args.only in (None, "crowd"):
            bench_idle_crowd(Path(tmp), args.workers)
    if args.only is None:
        report.write_section("idle", "## No idle Workers (`bench/bench_idle.py`)\n\n"
                             "Real Workers (source tree) and a Manager over loopback; times are when this "
                             "process received the Socket.IO events, so both ends of a gap are measured alike. "
                             "The crowd is simulated Workers holding `X-Flamenco-Wait: 30` requests; CPU is the "
                             "Manager process's user+system time over 10 s.\n\n"
                             f"Machine: {report.machine_line()}\n\n```\n" + "\n".join(LINES) + "\n```")


if __name__ == "__main__":
    main()
