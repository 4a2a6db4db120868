"""The farm benchmark's own parts do what its figures assume.

The bare server is the floor the Manager is compared with, so it must really
hand each task out once; the simulated Workers' client must read its answers
right over one keep-alive connection; and reruns replace a benchmark's
section of docs/benchmarks.md without touching the others.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading

from bench.farm_clients import SimWorker, dispatch_load
from bench.farm_procs import BareProc
from bench.report import write_section


def test_bare_server_hands_out_each_task_once(tmp_path):
    """20 clients on their own threads drain 300 tasks: each is handed out exactly once.

    Plain threads and http.client, not the benchmark's gevent client, so the
    check does not depend on the state of a gevent hub shared with other tests.
    """
    n_tasks = 300
    with BareProc(tmp_path / "bare", n_tasks).start() as bare:
        handed: list[str] = []
        failures: list[str] = []

        def drain(name: str) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", bare.port, timeout=30)
            auth = {"Authorization": "Basic " + base64.b64encode(f"{name}:x".encode()).decode(),
                    "Content-Type": "application/json"}
            try:
                for _ in range(n_tasks + 5):
                    conn.request("POST", "/api/v3/worker/task", body=b"", headers=auth)
                    resp = conn.getresponse()
                    body = resp.read()
                    if resp.status == 204:
                        return
                    assert resp.status == 200, body
                    task = json.loads(body)["uuid"]
                    handed.append(task)
                    conn.request("POST", f"/api/v3/worker/task/{task}", body=b'{"taskStatus": "completed"}',
                                 headers=auth)
                    done = conn.getresponse()
                    assert done.status == 204, done.read()
                    done.read()
            except Exception as exc:  # reported by the main thread
                failures.append(f"{name}: {exc!r}")
            finally:
                conn.close()

        threads = [threading.Thread(target=drain, args=(f"w{i}",), daemon=True) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        stuck = [t.name for t in threads if t.is_alive()]
        server_log = bare.log_path.read_text(errors="replace")[-2000:] if bare.log_path.exists() else ""
        assert not stuck and not failures, (
            f"{len(handed)} of {n_tasks} handed out; still asking after 120 s: {stuck}; failed: {failures};"
            f" server log:\n{server_log}")
        assert len(handed) == n_tasks
        assert len(set(handed)) == n_tasks

        # A task that is someone else's (or already done) is refused, as by the Manager.
        other = SimWorker(bare.port, "w1", timeout=20)
        other.use_identity("w1")
        refused = other.conn.request("POST", f"/api/v3/worker/task/{handed[0]}", {"taskStatus": "completed"})
        other.close()
        assert refused.status == 409
        assert refused.json()["code"] == 409


def test_dispatch_load_counts_dispatches_and_runs_dry(tmp_path):
    with BareProc(tmp_path / "bare", 200).start() as bare:
        workers = [SimWorker(bare.port, f"w{i}") for i in range(10)]
        for i, w in enumerate(workers):
            w.use_identity(f"w{i}")
        result = dispatch_load(workers, warmup_s=0, window_s=3, server_cpu=bare.cpu_seconds, idle_wait_s=0.01)
        for w in workers:
            w.close()
    # 200 tasks, far fewer than the server can hand out in 3 s: all done, then only empty asks.
    assert result.dispatches == 200
    assert result.no_task > 0
    assert result.error_count == 0
    assert len(result.ask_latencies) >= 200


def test_write_section_replaces_only_its_own(tmp_path):
    doc = tmp_path / "benchmarks.md"
    write_section("farm", "farm figures, run 1", doc)
    write_section("scheduler", "scheduler figures", doc)
    write_section("farm", "farm figures, run 2", doc)
    text = doc.read_text()
    assert "run 1" not in text
    assert text.count("farm figures, run 2") == 1
    assert "scheduler figures" in text
    assert text.index("<!-- bench:farm -->") < text.index("<!-- bench:scheduler -->")
