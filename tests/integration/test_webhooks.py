"""Webhooks over real HTTP: a receiver on loopback that refuses at first, signatures, a killed Manager."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until
from tests.integration.scrape import Scrape, metric
from tests.integration.test_job_lifecycle import submit_echo
from tests.integration.test_metrics import run_job

SECRET = "a-shared-secret"


class Receiver:
    """An incoming-webhook endpoint: records every POST; answers 503 while it refuses."""

    def __init__(self, refuse: int | None = 0) -> None:
        self.refuse = refuse  # how many more to refuse; None refuses all
        self.seen: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    refused = receiver.refuse is None or receiver.refuse > 0
                    if receiver.refuse:
                        receiver.refuse -= 1
                    receiver.seen.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "accepted": not refused})
                self.send_response(503 if refused else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/farm"

    def accept_all(self) -> None:
        with self.lock:
            self.refuse = 0

    def deliveries(self, accepted: bool | None = True) -> list[dict]:
        with self.lock:
            return [dict(d, json=json.loads(d["body"])) for d in self.seen
                    if accepted is None or d["accepted"] == accepted]

    def job_statuses(self, job_id: str) -> list[str]:
        return [d["json"]["job"]["status"] for d in self.deliveries()
                if d["json"]["event"] == "job-status" and d["json"]["job"]["id"] == job_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def hooked_manager(tmp_path, url: str, events: str = "[job-status, worker-status]") -> ManagerProcess:
    return ManagerProcess(tmp_path / "manager", extra_config=(
        f"webhooks:\n  - url: {url}\n    events: {events}\n    secret: {SECRET}\n"))


def assert_signed(delivery: dict) -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), delivery["body"], hashlib.sha256).hexdigest()
    assert delivery["headers"]["X-Flamenco-Signature"] == expected
    assert delivery["headers"]["Content-Type"] == "application/json"


def test_a_receiver_that_refuses_at_first_gets_every_change_in_order_signed(tmp_path, receiver):
    receiver.refuse = 2
    manager = hooked_manager(tmp_path, receiver.url).start()
    try:
        api = manager.api()
        worker = ScriptedWorker(manager.url, name="hooked-01").start()
        job = submit_echo(api, sleep_repeats=1)
        run_job(worker, 2)
        wait_until(lambda: "completed" in receiver.job_statuses(job["id"]), deadline_s=60,
                   what="the job's completion to be delivered")

        assert receiver.job_statuses(job["id"]) == ["active", "completed"]  # in order, once each
        done = next(d for d in receiver.deliveries() if d["json"].get("job", {}).get("status") == "completed")
        assert_signed(done)
        assert done["headers"]["X-Flamenco-Event"] == "job-status"
        assert done["json"]["job"]["previous_status"] == "active"
        assert done["json"]["text"].startswith("Job 'echo test' completed: 2 tasks in ")
        assert done["path"] == "/hooks/farm"

        # The first two requests were refused and the same delivery was sent again.
        refused = receiver.deliveries(accepted=False)
        assert len(refused) == 2
        first_accepted = receiver.deliveries()[0]
        assert refused[0]["headers"]["X-Flamenco-Delivery"] == first_accepted["headers"]["X-Flamenco-Delivery"]
        assert refused[0]["body"] == first_accepted["body"]

        workers = [d["json"] for d in receiver.deliveries() if d["json"]["event"] == "worker-status"]
        assert workers and workers[-1]["worker"]["name"] == "hooked-01"
        assert workers[-1]["worker"]["status"] == "awake"
        assert "Worker 'hooked-01' is now awake" in workers[-1]["text"]

        wait_until(lambda: metric(manager.url, "flamenco_webhook_outbox") == 0, what="the outbox to empty")
        scrape = Scrape(manager.url)
        assert scrape.value("flamenco_webhook_failures_total") == 2
        assert scrape.value("flamenco_webhook_deliveries_total") == len(receiver.deliveries())
    finally:
        manager.stop()


def test_a_manager_killed_before_delivery_delivers_after_restart(tmp_path, receiver):
    receiver.refuse = None  # down until further notice
    manager = hooked_manager(tmp_path, receiver.url, events="[job-status]").start()
    try:
        api = manager.api()
        worker = ScriptedWorker(manager.url, name="hooked-02").start()
        job = submit_echo(api, sleep_repeats=1)
        run_job(worker, 2)
        assert api.get(f"/api/v3/jobs/{job['id']}").json()["status"] == "completed"
        wait_until(lambda: receiver.deliveries(accepted=False), deadline_s=20, what="a refused delivery")
        assert receiver.deliveries() == []
        assert metric(manager.url, "flamenco_webhook_outbox") == 2  # active, completed: waiting
        manager.stop(signal.SIGKILL)

        receiver.accept_all()
        manager.start()
        wait_until(lambda: "completed" in receiver.job_statuses(job["id"]), deadline_s=60,
                   what="the completion to be delivered after the restart")
        assert receiver.job_statuses(job["id"]) == ["active", "completed"]
        assert_signed(receiver.deliveries()[-1])
        assert "webhook job-status to" in manager.log_text() and "delivered after" in manager.log_text()
    finally:
        manager.stop()
