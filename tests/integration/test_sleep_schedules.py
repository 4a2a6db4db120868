"""Sleep schedules at sign-on and when switched off, as upstream does (issue 12)."""

from __future__ import annotations

from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until

ALL_DAY = {"is_active": True, "days_of_week": "", "start_time": "", "end_time": ""}  # asleep all the time


def set_schedule(api, worker: ScriptedWorker, schedule: dict) -> None:
    resp = api.post(f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule", json=schedule)
    assert resp.status_code == 204, resp.text


def worker_row(api, worker: ScriptedWorker) -> dict:
    return api.get(f"/api/v3/worker-mgt/workers/{worker.uuid}").json()


def test_worker_signing_on_inside_its_sleep_window_is_told_to_sleep(tmp_path):
    """A Worker without a pending request (here: after a timeout) gets the schedule's verdict."""
    manager = ManagerProcess(tmp_path / "m", extra_config=(
        "worker_timeout: 1s\ntimeout_check_interval: 200ms\nsleep_check_interval: 200ms\n")).start()
    try:
        api = manager.api()
        worker = ScriptedWorker(manager.url, name="night-owl").start()
        wait_until(lambda: worker_row(api, worker)["status"] == "error", deadline_s=15,
                   what="the silent worker to time out")
        set_schedule(api, worker, ALL_DAY)  # a Worker in error gets no request from the schedule
        assert "status_change" not in worker_row(api, worker)
        assert worker.sign_on() == "asleep"
    finally:
        manager.stop()


def test_worker_without_schedule_or_with_inactive_one_signs_on_awake(manager, api):
    worker = ScriptedWorker(manager.url).start()
    assert worker.sign_on() == "awake"
    set_schedule(api, worker, {**ALL_DAY, "is_active": False})
    assert worker.sign_on() == "awake"


def test_switching_a_schedule_off_wakes_the_worker(manager, api):
    worker = ScriptedWorker(manager.url, name="sleeper").start()
    set_schedule(api, worker, ALL_DAY)
    assert worker.api.get("/api/v3/worker/state").json() == {"status_requested": "asleep"}
    worker.state_changed("asleep")
    assert worker.api.get("/api/v3/worker/state").status_code == 204
    assert worker_row(api, worker)["status"] == "asleep"

    set_schedule(api, worker, {**ALL_DAY, "is_active": False})  # at once, not at the next loop tick
    assert worker.api.get("/api/v3/worker/state").json() == {"status_requested": "awake"}
    assert worker_row(api, worker)["status_change"] == {"status": "awake", "is_lazy": False}
    worker.state_changed("awake")
    assert worker.api.get("/api/v3/worker/state").status_code == 204
