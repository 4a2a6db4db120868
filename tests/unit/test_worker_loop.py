"""The Worker's state loop against a scripted Manager: acks, 423s, re-registration, exit codes."""

from __future__ import annotations

import threading

from flamenco_pkg.worker.config import WorkerConfig, load_credentials
from flamenco_pkg.worker.executor import Services
from flamenco_pkg.worker.loop import Timing, WorkerLoop


class Resp:
    def __init__(self, status: int, body=None) -> None:
        self.status_code = status
        self._body = body
        self.text = ""

    def json(self):
        return self._body if self._body is not None else {"code": self.status_code, "message": "x"}


class ScriptedManager:
    """Answers each (method, path) from a queue of scripted replies; records every call."""

    def __init__(self, script: dict[str, list[Resp]]) -> None:
        self.script = script
        self.calls: list[tuple[str, str, object]] = []
        self.auth = ("", "")
        self.manager_url = "http://manager/"

    def call(self, method, path, *, json=None, **_kw):
        self.calls.append((method, path, json))
        replies = self.script.get(f"{method} {path}")
        assert replies, f"unexpected call {method} {path}"
        return replies.pop(0) if len(replies) > 1 else replies[0]


def make_loop(manager: ScriptedManager, tmp_path, cfg: WorkerConfig | None = None) -> WorkerLoop:
    services = Services(client=manager, buffer=None, offer_output=lambda *_: None, find_ffmpeg=lambda: None)
    return WorkerLoop(manager, cfg or WorkerConfig(restart_exit_code=47), tmp_path, services, threading.Event(),
                      Timing(scale=0.001))


def test_awake_then_asleep_then_awake_then_offline(tmp_path):
    manager = ScriptedManager({
        "POST state-changed": [Resp(204)],
        "POST task": [Resp(204), Resp(423, {"status_requested": "asleep"}), Resp(423, {"status_requested": "offline"})],
        "GET state": [Resp(204), Resp(200, {"status_requested": "awake"})],
    })
    assert make_loop(manager, tmp_path).run("awake") == 0
    acks = [body["status"] for method, path, body in manager.calls if path == "state-changed"]
    assert acks == ["awake", "asleep", "awake"]  # offline is never acknowledged
    paths = [path for _m, path, _b in manager.calls]
    assert paths == ["state-changed", "task", "task", "state-changed", "state", "state", "state-changed", "task"]


def test_restart_exits_with_the_restart_code(tmp_path):
    manager = ScriptedManager({"POST state-changed": [Resp(204)],
                               "POST task": [Resp(423, {"status_requested": "restart"})]})
    assert make_loop(manager, tmp_path).run("awake") == 47


def test_restart_request_at_sign_on_exits_at_once(tmp_path):
    manager = ScriptedManager({})
    assert make_loop(manager, tmp_path).run("restart") == 47
    assert manager.calls == []


def test_refused_credentials_register_again(tmp_path):
    manager = ScriptedManager({
        "POST state-changed": [Resp(204)],
        "POST task": [Resp(403), Resp(423, {"status_requested": "offline"})],
        "POST register-worker": [Resp(200, {"uuid": "5e0fb7b9-0000-4000-8000-000000000001"})],
        "POST sign-on": [Resp(200, {"status_requested": "awake"})],
    })
    assert make_loop(manager, tmp_path).run("awake") == 0
    paths = [path for _m, path, _b in manager.calls]
    assert paths == ["state-changed", "task", "register-worker", "sign-on", "state-changed", "task"]
    creds = load_credentials(tmp_path)
    assert creds is not None and creds.worker_id == "5e0fb7b9-0000-4000-8000-000000000001"
    register_body = manager.calls[2][2]
    assert register_body["secret"] == creds.worker_secret and len(creds.worker_secret) == 64
    assert register_body["platform"] in ("linux", "windows", "darwin")


def test_not_awake_on_the_manager_signs_on_again(tmp_path):
    manager = ScriptedManager({
        "POST state-changed": [Resp(204)],
        "POST task": [Resp(409), Resp(423, {"status_requested": "offline"})],
        "POST sign-on": [Resp(200, {"status_requested": "awake"})],
    })
    assert make_loop(manager, tmp_path).run("awake") == 0
    sign_on = next(body for _m, path, body in manager.calls if path == "sign-on")
    assert sign_on["can_restart"] is True and "software_version" in sign_on


def test_unknown_status_means_asleep(tmp_path):
    manager = ScriptedManager({"POST state-changed": [Resp(204)],
                               "GET state": [Resp(200, {"status_requested": "offline"})]})
    assert make_loop(manager, tmp_path).run("error") == 0
    assert manager.calls[0] == ("POST", "state-changed", {"status": "asleep"})


def test_stop_ends_the_loop_without_an_exit_code(tmp_path):
    manager = ScriptedManager({"POST state-changed": [Resp(204)], "GET state": [Resp(204)]})
    loop = make_loop(manager, tmp_path)
    timer = threading.Timer(0.2, loop.stop.set)
    timer.start()
    assert loop.run("asleep") is None
    timer.join()


def test_a_busy_manager_at_sign_on_is_retried_not_a_reason_to_register(tmp_path, monkeypatch):
    from flamenco_pkg.worker import registration

    monkeypatch.setattr(registration, "SIGN_ON_RETRY_S", 0.01)
    manager = ScriptedManager({"POST sign-on": [Resp(503), Resp(200, {"status_requested": "asleep"})]})
    status = registration.sign_on(manager, WorkerConfig(), threading.Event())
    assert status == "asleep"
    assert [path for _m, path, _b in manager.calls] == ["sign-on", "sign-on"]
    refused = ScriptedManager({"POST sign-on": [Resp(403)]})
    assert registration.sign_on(refused, WorkerConfig(), threading.Event()) is None
