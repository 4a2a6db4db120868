"""How long a Worker waits while the web UI reads a lot (issue 9: "reads never block the Workers").

Fills a database with 3,000 jobs, one of them with 100,000 tasks, starts a real
Manager on it (integrity check every 2 s), and has a separate probe process
ask `GET /api/v3/worker/state` as a Worker, back to back over keep-alive,
during four phases: idle (which includes integrity checks), listing all jobs,
listing all tasks of the big job, and both at once. Prints the probe's p50,
p99 and worst latency per phase, and how long the reads themselves took.

The probe runs in its own process so that the reading client's work (it
downloads tens of MB) does not disturb the measurement.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

N_JOBS = 3_000
N_TASKS = 100_000
ROUNDS = 3  # reads of each kind per phase


def probe(url: str, uuid: str, secret: str, seconds: float, out: list) -> None:
    """Append (start offset, latency) in seconds of each worker/state call, for `seconds`."""
    import requests

    session = requests.Session()
    session.auth = (uuid, secret)
    begin = time.perf_counter()
    while (now := time.perf_counter()) - begin < seconds:
        session.get(url + "/api/v3/worker/state", timeout=30).raise_for_status()
        out.append((now - begin, time.perf_counter() - now))


def _figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"n": len(ordered), "p50_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000,
            "max_ms": ordered[-1] * 1000}


def _read(url: str, path: str, times: list[float]) -> None:
    import requests

    with requests.Session() as session:
        for _ in range(ROUNDS):
            start = time.perf_counter()
            resp = session.get(url + path, timeout=120, stream=True)
            resp.raise_for_status()
            size = sum(len(chunk) for chunk in resp.iter_content(1 << 20))  # as fast as a browser takes it
            assert size > 1000
            times.append(time.perf_counter() - start)


def run_phase(url: str, worker, readers: list[str], idle_s: float = 4.0) -> dict:
    """Probe while `readers` paths are each read ROUNDS times (or for `idle_s` with none)."""
    probe_s = idle_s if not readers else 600.0
    proc = subprocess.Popen([sys.executable, __file__, "--probe", url, worker.uuid, worker.secret, str(probe_s)],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # the probe is connected and running
    times: dict[str, list[float]] = {path: [] for path in readers}
    threads = [threading.Thread(target=_read, args=(url, path, times[path])) for path in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if readers:
        proc.terminate()
    out, _ = proc.communicate(timeout=60)
    samples = json.loads(out) if out.strip() else []
    figures = _figures([lat for _, lat in samples])
    figures["reads_s"] = {path: round(statistics.mean(t), 2) for path, t in times.items()}
    return figures


def main() -> None:
    from bench.bench_webui import populate
    from tests.integration.farm import ManagerProcess, ScriptedWorker

    with tempfile.TemporaryDirectory() as tmp:
        manager = ManagerProcess(Path(tmp) / "manager", extra_config="database_check_period: 2s\n")
        manager.workdir.mkdir(parents=True)
        farm = populate(manager.db_path, n_jobs=N_JOBS, n_tasks=N_TASKS)
        manager.start()
        try:
            worker = ScriptedWorker(manager.url, name="probe").start()
            jobs, tasks = "/api/v3/jobs", f"/api/v3/jobs/{farm.big_job}/tasks"
            phases = {
                "idle, integrity check every 2 s": [],
                f"listing {N_JOBS:,} jobs": [jobs],
                f"listing {N_TASKS:,} tasks": [tasks],
                "both lists at once": [jobs, tasks],
            }
            results = {name: run_phase(manager.url, worker, paths) for name, paths in phases.items()}
        finally:
            manager.stop()
    for name, fig in results.items():
        reads = ", ".join(f"{path.split('/')[-1] or path} {secs} s" for path, secs in fig["reads_s"].items())
        print(f"worker/state while {name}: p50 {fig['p50_ms']:.1f} ms, p99 {fig['p99_ms']:.1f} ms, "
              f"max {fig['max_ms']:.0f} ms over {fig['n']} calls" + (f" (each read took: {reads})" if reads else ""))


def probe_main(url: str, uuid: str, secret: str, seconds: str) -> None:
    """The probe process: prints its samples as JSON when done or terminated."""
    import signal

    samples: list = []
    signal.signal(signal.SIGTERM, lambda *_: (print(json.dumps(samples)), sys.exit(0)))
    probe(url, uuid, secret, float(seconds), samples)
    print(json.dumps(samples))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--probe":
        probe_main(*sys.argv[2:])
    else:
        main()
