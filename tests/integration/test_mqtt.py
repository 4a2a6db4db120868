"""MQTT as upstream, against a real Mosquitto broker on loopback: a real Worker's job, outages, settings."""

from __future__ import annotations

import socket

from tests.e2e.harness import WorkerProcess, wait_for_job
from tests.integration.farm import ManagerProcess, ScriptedWorker, wait_until
from tests.integration.live import LiveClient
from tests.integration.mqtt_broker import Mosquitto, Subscriber, needs_mosquitto
from tests.integration.scrape import Scrape, metric
from tests.integration.test_job_lifecycle import submit_echo

pytestmark = needs_mosquitto

QUEUE_LIMIT = 1000  # flamenco_pkg.manager.mqtt.forwarder.QUEUE_LIMIT


def mqtt_config(broker_url: str) -> str:
    return f"mqtt:\n  client:\n    enabled: true\n    broker: {broker_url}\n    clientID: farm-test\n"


def of_job(payloads: list[dict], job_id: str, key: str = "id") -> list[dict]:
    return [p for p in payloads if p.get(key) == job_id]


def test_a_real_workers_job_is_published_as_socketio_sends_it(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    sub = Subscriber(broker.port)
    manager = ManagerProcess(tmp_path / "manager", extra_config=mqtt_config(broker.url))
    worker = WorkerProcess(tmp_path / "worker", manager.url, name="mqtt-worker")
    live = None
    try:
        manager.start()
        # Published before the client had connected: held in the queue, then sent.
        sub.wait_for("flamenco/lifecycle", lambda p: p == {"type": "manager-startup"})
        live = LiveClient(manager.url)
        live.subscribe("allJobs")
        live.subscribe("allWorkers")
        api = manager.api()
        job = submit_echo(api, sleep_repeats=1)
        live.subscribe("job", job["id"])
        worker.start()
        wait_for_job(api, job["id"], "completed", deadline_s=90, logs=[worker, manager])

        done = lambda p: p["id"] == job["id"] and p["status"] == "completed"  # noqa: E731
        sub.wait_for("flamenco/jobs", done)
        live.wait_for("/jobs", done)
        jobs = of_job(sub.on("flamenco/jobs"), job["id"])
        assert jobs[0]["status"] == "queued" and "previous_status" not in jobs[0]  # created
        assert [p["status"] for p in jobs if "previous_status" in p] == ["active", "completed"]
        assert jobs == of_job(live.of("/jobs"), job["id"])  # the same JSON as Socket.IO

        tasks = {t["id"] for t in api.get(f"/api/v3/jobs/{job['id']}/tasks").json()["tasks"]}
        for task_id in tasks:
            live.wait_for("/task", lambda p, t=task_id: p["id"] == t and p["status"] == "completed")
            sub.wait_for(f"flamenco/jobs/{job['id']}", lambda p, t=task_id: p["id"] == t and p["status"] == "completed")
        task_events = sub.on(f"flamenco/jobs/{job['id']}")
        assert {p["id"] for p in task_events} == tasks
        assert all(p["worker"]["name"] == "mqtt-worker" for p in task_events if p["status"] == "completed")
        assert task_events == of_job(live.of("/task"), job["id"], key="job_id")

        sub.wait_for("flamenco/workers", lambda p: p["name"] == "mqtt-worker" and p["status"] == "awake")
        assert not [t for t in sub.topics() if "tasklog" in t]  # log chunks stay off MQTT
        assert "flamenco/jobs" in sub.topics() and "flamenco/status" in sub.topics()
        assert {(qos, retain) for _t, (_p, qos, retain) in sub.messages} == {(1, False)}
        assert metric(manager.url, "flamenco_mqtt_connected") == 1
        received = len(sub.messages)  # the counter moves at the broker's acknowledgement, after delivery
        wait_until(lambda: metric(manager.url, "flamenco_mqtt_published_total") >= received,
                   what="the Manager to count what the subscriber received")
    finally:
        if live:
            live.close()
        worker.stop()
        manager.stop()
        sub.close()
        broker.kill()


def test_broker_outage_never_holds_up_requests_and_events_flow_after_its_return(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    sub = Subscriber(broker.port)
    manager = ManagerProcess(tmp_path / "manager", extra_config=mqtt_config(broker.url)).start()
    stall = None
    try:
        url = manager.url
        api = manager.api()
        sub.wait_for("flamenco/lifecycle", lambda p: p == {"type": "manager-startup"})
        worker = ScriptedWorker(url, name="outage").start()
        job = submit_echo(api, sleep_repeats=1)
        task = worker.ask_task().json()
        assert worker.update(task["uuid"], taskStatus="active").status_code == 204

        broker.kill()
        wait_until(lambda: metric(url, "flamenco_mqtt_connected") == 0, what="the Manager to see the broker go")
        # Worse than gone: a "broker" that takes the connection and never answers.
        stall = socket.socket()
        stall.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        stall.bind(("127.0.0.1", broker.port))
        stall.listen(8)
        stall.settimeout(40)
        stalled, _ = stall.accept()  # the Manager's reconnect now waits for a CONNACK that never comes

        # Requests go on: 510 progress reports, two events each, more than the queue holds.
        published = metric(url, "flamenco_mqtt_published_total")
        for i in range(510):
            resp = worker.update(task["uuid"], steps_completed=(i + 1) % 2, activity=f"step {i}")
            assert resp.status_code == 204, resp.text
        assert api.get("/api/v3/version").ok
        held = Scrape(url)
        assert held.value("flamenco_mqtt_queue_length") == QUEUE_LIMIT
        assert held.value("flamenco_mqtt_dropped_total") >= 20
        assert held.value("flamenco_mqtt_published_total") == published
        assert held.value("flamenco_mqtt_connected") == 0

        # The real broker comes back on its port; the stalled connection ends.
        stall.close()
        broker.start()
        stalled.close()
        wait_until(lambda: metric(url, "flamenco_mqtt_connected") == 1, deadline_s=60,
                   what="the Manager to reconnect")
        wait_until(lambda: metric(url, "flamenco_mqtt_queue_length") == 0, deadline_s=30,
                   what="the held events to be published")
        # The queue empties when the last event is sent; the counter moves at each acknowledgement.
        wait_until(lambda: metric(url, "flamenco_mqtt_published_total") >= published + QUEUE_LIMIT,
                   deadline_s=30, what="the broker to acknowledge the held events")
        assert sub.connected.wait(20)
        after = submit_echo(api, sleep_repeats=1)
        sub.wait_for("flamenco/jobs", lambda p: p["id"] == after["id"] and p["status"] == "queued")
        assert worker.update(task["uuid"], taskStatus="completed").status_code == 204
        sub.wait_for(f"flamenco/jobs/{job['id']}", lambda p: p["id"] == task["uuid"] and p["status"] == "completed")
        assert "MQTT: lost the connection" in manager.log_text()
    finally:
        if stall:
            stall.close()
        manager.stop()
        sub.close()
        broker.kill()


def test_settings_turn_mqtt_on_off_and_move_it_without_a_restart(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    sub = Subscriber(broker.port, topic="#")
    manager = ManagerProcess(tmp_path / "manager").start()
    try:
        url = manager.url
        api = manager.api()

        def put_mqtt(**client) -> None:
            doc = api.get("/api/v3/configuration/file").json()
            doc["mqtt"]["client"].update(client)
            assert api.put("/api/v3/configuration/file", json=doc).status_code == 204

        def job(name: str) -> None:
            body = {"name": name, "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                    "settings": {"message": "hi"}}
            assert api.post("/api/v3/jobs", json=body).status_code == 200

        job("before")
        put_mqtt(enabled=True, broker=broker.url)
        wait_until(lambda: metric(url, "flamenco_mqtt_connected") == 1, what="MQTT to connect")
        job("while-on")
        sub.wait_for("flamenco/jobs", lambda p: p.get("name") == "while-on")

        put_mqtt(enabled=False)
        wait_until(lambda: metric(url, "flamenco_mqtt_connected") == 0, what="MQTT to disconnect")
        job("while-off")
        put_mqtt(enabled=True, topic_prefix="studio/farm")
        wait_until(lambda: metric(url, "flamenco_mqtt_connected") == 1, what="MQTT to connect again")
        job("again")
        sub.wait_for("studio/farm/jobs", lambda p: p.get("name") == "again")

        assert [p["name"] for p in sub.on("flamenco/jobs") if "name" in p] == ["while-on"]
        assert [p["name"] for p in sub.on("studio/farm/jobs") if "name" in p] == ["again"]
        assert "takes effect when the Manager restarts" not in manager.log_text()

        # A broker URL that cannot work is refused with the field named; nothing changes.
        doc = api.get("/api/v3/configuration/file").json()
        doc["mqtt"]["client"]["broker"] = "http://not-a-broker"
        resp = api.put("/api/v3/configuration/file", json=doc)
        assert resp.status_code == 400 and "mqtt.client.broker" in resp.json()["message"]
        assert metric(url, "flamenco_mqtt_connected") == 1
    finally:
        manager.stop()
        sub.close()
        broker.kill()
