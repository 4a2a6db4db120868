"""How the Worker asks for tasks, over real HTTP against a small scripted Manager on loopback.

No pause after a finished task; `X-Flamenco-Wait` on every request; a 204 that was held
means "ask again now", a 204 that came at once keeps upstream's back-off.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flamenco_pkg.worker.buffer import UpstreamBuffer
from flamenco_pkg.worker.client import ManagerClient
from flamenco_pkg.worker.config import WorkerConfig
from flamenco_pkg.worker.executor import Services
from flamenco_pkg.worker.loop import WAIT_HEADER, Timing, WorkerLoop
from tests.e2e.harness import WorkerProcess
from tests.integration.farm import wait_until

PREFIX = "/api/v3/worker/"
# A back-off after a task would blow the tests' deadlines; the fetch delay (once, on waking
# up) is upstream's, so a pause before every request would show as a gap of over 2.7 s.
NO_PAUSES_EXPECTED = Timing(after_task_s=60)


def task(uuid: str, *commands: dict) -> dict:
    return {"uuid": uuid, "name": f"task {uuid}", "job": "job-1", "status": "queued", "priority": 50,
            "job_priority": 50, "job_type": "test", "task_type": "misc", "steps_total": 1,
            "steps_completed": 0, "commands": list(commands) or [{"name": "echo", "parameters": {"message": "hi"}}]}


OFFLINE = (423, {"status_requested": "offline"}, 0.0)


class StubManager:
    """Answers `POST task` from a script of (status, body, hold seconds); records every request."""

    def __init__(self, task_replies: list[tuple[int, Any, float]]) -> None:
        self.task_replies = deque(task_replies)
        self.records: list[dict[str, Any]] = []
        self.drop_first_completion = False
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                record = {"at": time.monotonic(), "method": self.command, "path": self.path.removeprefix(PREFIX),
                          "headers": dict(self.headers), "body": json.loads(raw) if raw else None}
                stub.records.append(record)
                status, body, hold = stub.reply(record)
                if status is None:  # the connection breaks: the Worker sees the Manager as unreachable
                    self.close_connection = True
                    return
                time.sleep(hold)  # a Manager holding the request (long-poll)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                record["answered"] = time.monotonic()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def reply(self, record: dict) -> tuple[int | None, Any, float]:
        method, path, body = record["method"], record["path"], record["body"]
        if (method, path) == ("POST", "task"):
            return self.task_replies.popleft() if len(self.task_replies) > 1 else self.task_replies[0]
        if method == "POST" and path.startswith("task/"):
            if self.drop_first_completion and body.get("taskStatus") == "completed":
                self.drop_first_completion = False
                return None, None, 0.0
            return 204, None, 0.0
        if method == "GET" and path.endswith("/may-i-run"):
            return 200, {"mayKeepRunning": True, "reason": "", "statusChangeRequested": False}, 0.0
        if (method, path) in (("POST", "state-changed"), ("POST", "sign-off")):
            return 204, None, 0.0
        if (method, path) == ("POST", "sign-on"):
            return 200, {"status_requested": "awake"}, 0.0
        return 404, {"code": 404, "message": f"no {method} {path} here"}, 0.0

    def task_requests(self) -> list[dict]:
        return [r for r in self.records if (r["method"], r["path"]) == ("POST", "task")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def run_worker(tmp_path):
    """Run a WorkerLoop (awake) against a stub until it exits; returns its exit code."""
    made: list[tuple[StubManager, UpstreamBuffer]] = []

    def run(stub: StubManager, timing: Timing, deadline_s: float = 15.0) -> int | None:
        client = ManagerClient(stub.url)
        buffer = UpstreamBuffer(tmp_path / f"buffer-{len(made)}.sqlite", client)
        made.append((stub, buffer))
        services = Services(client=client, buffer=buffer, offer_output=lambda *_: None, find_ffmpeg=lambda: None)
        loop = WorkerLoop(client, WorkerConfig(), tmp_path, services, threading.Event(), timing)
        result: dict[str, int | None] = {}
        thread = threading.Thread(target=lambda: result.update(code=loop.run("awake")), daemon=True)
        thread.start()
        thread.join(timeout=deadline_s)
        if thread.is_alive():
            loop.stop.set()
            loop.cancel_current_task()
            thread.join(timeout=10)
            raise AssertionError(f"the Worker did not finish within {deadline_s} s; it paused somewhere: "
                                 f"{[(r['method'], r['path']) for r in stub.records]}")
        return result["code"]

    yield run
    for stub, buffer in made:
        buffer.close(final_flush_s=0.1)
        stub.close()


def test_the_next_task_is_asked_for_right_after_the_completion_update(run_worker):
    stub = StubManager([(200, task("t1"), 0.0), (200, task("t2"), 0.0), OFFLINE])
    assert run_worker(stub, NO_PAUSES_EXPECTED) == 0
    calls = [(r["method"], r["path"], (r["body"] or {}).get("taskStatus")) for r in stub.records]
    assert calls[0] == ("POST", "state-changed", None) and calls[1] == ("POST", "task", None)
    for task_id in ("t1", "t2"):
        done = calls.index(("POST", f"task/{task_id}", "completed"))
        assert calls[done + 1] == ("POST", "task", None)
        assert stub.records[done + 1]["at"] - stub.records[done]["answered"] < 3.0 * 0.9
    assert [r["headers"].get(WAIT_HEADER) for r in stub.task_requests()] == ["25", "25", "25"]


def test_a_completion_that_could_not_be_delivered_is_delivered_before_the_next_request(run_worker):
    stub = StubManager([(200, task("t1"), 0.0), OFFLINE])
    stub.drop_first_completion = True
    assert run_worker(stub, NO_PAUSES_EXPECTED) == 0
    calls = [(r["method"], r["path"], (r["body"] or {}).get("taskStatus")) for r in stub.records]
    first = calls.index(("POST", "task/t1", "completed"))
    assert calls[first + 1] == ("POST", "task/t1", "completed")  # queued, then flushed from the buffer
    assert calls[first + 2] == ("POST", "task", None)


def test_a_quick_204_keeps_upstreams_back_off(run_worker):
    """A Manager that ignores the header answers 204 at once: the Worker must not hammer it."""
    stub = StubManager([(204, None, 0.0), OFFLINE])
    scale = 0.05  # no task: 20 s, plus the 3 s fetch delay, each ±10 %: at least 1.035 s here
    assert run_worker(stub, Timing(scale=scale)) == 0
    first, second = stub.task_requests()
    assert second["at"] - first["answered"] >= (20 + 3) * scale * 0.9


def test_a_held_204_is_followed_by_the_next_request_at_once(run_worker):
    stub = StubManager([(204, None, 1.2), OFFLINE])  # held past HELD_MIN_S, as a long-polling Manager does
    assert run_worker(stub, Timing(), deadline_s=12) == 0  # an upstream back-off would take over 20 s
    first, second = stub.task_requests()
    assert first["headers"][WAIT_HEADER] == "25"
    assert second["at"] - first["answered"] < 5


def test_a_failed_task_backs_off_before_the_next_request(run_worker):
    stub = StubManager([(200, task("t1", {"name": "no-such-command", "parameters": {}}), 0.0), OFFLINE])
    scale = 0.05
    assert run_worker(stub, Timing(after_task_s=20, scale=scale)) == 0
    failed = next(r for r in stub.records if (r["body"] or {}).get("taskStatus") == "failed")
    following = stub.task_requests()[1]
    assert following["at"] - failed["answered"] >= (20 + 3) * scale * 0.9


def test_without_a_wait_the_request_is_upstreams(run_worker):
    stub = StubManager([OFFLINE])
    assert run_worker(stub, Timing(task_wait_s=0)) == 0
    (only,) = stub.task_requests()
    assert WAIT_HEADER not in only["headers"]



def test_a_worker_stopped_while_its_request_is_held_exits_without_waiting_for_the_answer(tmp_path):
    stub = StubManager([(204, None, 60.0)])  # a Manager that holds the request far longer than shutdown allows
    worker = WorkerProcess(tmp_path / "w", stub.url, name="held")
    worker.home.mkdir(parents=True)
    (worker.home / "flamenco-worker-credentials.yaml").write_text(
        "worker_id: 0b4d7c2e-0000-4000-8000-000000000001\nworker_secret: s3cret\n")
    try:
        worker.start()
        wait_until(lambda: stub.task_requests(), deadline_s=30, what="a task request")
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=8) == 1  # not the 10 s the loop gets to finish a task
        assert ("POST", "sign-off") in [(r["method"], r["path"]) for r in stub.records]
    finally:
        worker.stop()
        stub.close()
