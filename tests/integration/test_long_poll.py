"""Long-poll (issue 11): a Worker's held "give me a task" request is answered
as soon as work or a status change is there for it, and upstream-style
requests are answered at once as before."""

from __future__ import annotations

import threading

import requests

from tests.integration.farm import ScriptedWorker, wait_until

JOB = {"name": "lp", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
       "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 0}}


class Held:
    """One task request in a thread, with X-Flamenco-Wait."""

    def __init__(self, worker: ScriptedWorker, wait_s: int) -> None:
        self.worker = worker
        self.response: requests.Response | None = None
        self.thread = threading.Thread(target=self._run, args=(wait_s,), daemon=True)
        self.thread.start()

    def _run(self, wait_s: int) -> None:
        self.response = self.worker.api.post("/api/v3/worker/task", headers={"X-Flamenco-Wait": str(wait_s)})

    def still_held_after(self, seconds: float) -> bool:
        self.thread.join(seconds)
        return self.thread.is_alive()

    def result(self, timeout: float = 15) -> requests.Response:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the held request was not answered"
        assert self.response is not None
        return self.response


def test_held_request_gets_a_job_submitted_meanwhile(manager, api):
    w = ScriptedWorker(manager.url).start()
    held = Held(w, 30)
    assert held.still_held_after(0.5)  # nothing to do: held, not answered with 204
    job = api.post("/api/v3/jobs", json=JOB).json()
    resp = held.result()
    assert resp.status_code == 200
    assert resp.json()["job"] == job["id"]


def test_held_request_learns_of_a_sleep_request_at_once(manager, api):
    w = ScriptedWorker(manager.url).start()
    held = Held(w, 30)
    assert held.still_held_after(0.5)
    resp = api.post(f"/api/v3/worker-mgt/workers/{w.uuid}/setstatus", json={"status": "asleep", "is_lazy": False})
    assert resp.status_code == 204
    answer = held.result()
    assert answer.status_code == 423
    assert answer.json() == {"status_requested": "asleep"}


def test_held_request_answers_204_at_its_limit(manager):
    w = ScriptedWorker(manager.url).start()
    held = Held(w, 2)
    assert held.still_held_after(0.5)
    assert held.result().status_code == 204


def test_request_without_the_header_is_answered_at_once(manager):
    w = ScriptedWorker(manager.url).start()
    resp = w.ask_task()  # as upstream's Worker asks
    assert resp.status_code == 204


def test_one_task_two_held_workers_one_gets_it_the_other_stays_held(manager, api):
    a = ScriptedWorker(manager.url, name="a").start()
    b = ScriptedWorker(manager.url, name="b").start()
    held = [Held(a, 8), Held(b, 8)]
    assert all(h.still_held_after(0.5) for h in held)
    api.post("/api/v3/jobs", json=JOB)  # one echo task
    winner = wait_until(lambda: next((h for h in held if not h.thread.is_alive()), None),
                        deadline_s=15, what="one held request to be answered")
    assert winner.response.status_code == 200
    loser = held[1] if winner is held[0] else held[0]
    assert loser.still_held_after(1.0)  # not woken into a 204 by the other's task
    assert loser.result(timeout=15).status_code == 204


def test_a_requeued_task_wakes_a_held_worker(manager, api):
    a = ScriptedWorker(manager.url, name="a").start()
    job = api.post("/api/v3/jobs", json=JOB).json()
    task = a.ask_task().json()
    b = ScriptedWorker(manager.url, name="b").start()
    held = Held(b, 30)
    assert held.still_held_after(0.5)
    assert a.update(task["uuid"], taskStatus="failed", log="broken").status_code == 204  # soft-fail: queued again
    resp = held.result()
    assert resp.status_code == 200
    assert resp.json()["uuid"] == task["uuid"] and resp.json()["job"] == job["id"]


def test_shutdown_answers_held_requests(manager):
    w = ScriptedWorker(manager.url).start()
    held = Held(w, 30)
    assert held.still_held_after(0.5)
    manager.stop()
    assert held.result().status_code == 204  # answered before the server closed, not cut off


def test_a_worker_that_hangs_up_is_not_handed_the_task(manager, api):
    """A held request whose client went away must not take (and lose) the next task."""
    import base64
    import socket
    from urllib.parse import urlsplit

    gone = ScriptedWorker(manager.url, name="gone").start()
    url = urlsplit(manager.url)
    token = base64.b64encode(f"{gone.uuid}:{gone.secret}".encode()).decode()
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(b"POST /api/v3/worker/task HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                 b"X-Flamenco-Wait: 30\r\nAuthorization: Basic " + token.encode() + b"\r\n\r\n")
    sock.settimeout(0.5)
    try:
        sock.recv(1)
        raise AssertionError("the request was answered instead of held")
    except TimeoutError:
        pass
    sock.close()  # the Worker goes away while its request is held

    other = ScriptedWorker(manager.url, name="other").start()
    held = Held(other, 20)
    assert held.still_held_after(0.5)
    job = api.post("/api/v3/jobs", json=JOB).json()
    resp = held.result()
    assert resp.status_code == 200 and resp.json()["job"] == job["id"]
