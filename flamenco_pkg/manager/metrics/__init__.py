"""Prometheus metrics of one Manager, served as text at GET /metrics.

Each Manager has its own registry (several Managers may live in one test
process). Counters and histograms are moved where things happen (the HTTP
endpoint wrapper, the scheduler, MQTT, webhooks); gauges about the farm are
read when scraped from counts that the database keeps as statuses change
(`farm.py`), never by scanning jobs or tasks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from .lockless import LoopCollector, LoopCounter, LoopHistogram

disable_created_metrics()  # no `_created` series beside every counter: they only clutter dashboards

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# A pick is one indexed seek per runnable job: tens of microseconds normally.
PICK_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """The Manager's metric families and the few calls that move them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Moved on every request: plain numbers of the event loop (loop.py), served by one collector.
        self.http_duration = LoopHistogram(
            "flamenco_http_request_duration_seconds", "Time to answer an API request, by OpenAPI operation.",
            "operation")
        self.task_dispatches = LoopCounter("flamenco_task_dispatches", "Tasks handed to Workers.")
        self.task_updates = LoopCounter("flamenco_task_updates", "Task updates accepted from Workers.")
        self.scheduler_pick = LoopHistogram(
            "flamenco_scheduler_pick_seconds", "Time the scheduler takes to choose a Worker's next task.",
            buckets=PICK_BUCKETS)
        r.register(LoopCollector([self.http_duration, self.task_dispatches, self.task_updates, self.scheduler_pick]))
        self.socketio_clients = Gauge(
            "flamenco_socketio_clients", "Connected Socket.IO (web UI) clients.", registry=r)
        self.mqtt_connected = Gauge(
            "flamenco_mqtt_connected", "1 while connected to the MQTT broker.", registry=r)
        self.mqtt_queue_length = Gauge(
            "flamenco_mqtt_queue_length", "Events waiting to be published to MQTT.", registry=r)
        self.mqtt_published = Counter(
            "flamenco_mqtt_published", "Events published to MQTT (acknowledged by the broker).", registry=r)
        self.mqtt_dropped = Counter(
            "flamenco_mqtt_dropped", "Events dropped because the MQTT queue was full.", registry=r)
        self.webhook_deliveries = Counter(
            "flamenco_webhook_deliveries", "Webhook deliveries accepted by their receiver.", registry=r)
        self.webhook_failures = Counter(
            "flamenco_webhook_failures", "Webhook delivery attempts that failed (each is retried).", registry=r)
        self.webhook_given_up = Counter(
            "flamenco_webhook_given_up", "Webhook deliveries abandoned after a day of retries.", registry=r)
        self.socketio_clients.set_function(lambda: 0)
        self.mqtt_queue_length.set_function(lambda: 0)

    # -- where things happen --

    def observe_request(self, operation: str, status: int, seconds: float) -> None:
        """One answered API request; accepted worker task updates are also counted."""
        self.http_duration.labels(operation).observe(seconds)
        if operation == "taskUpdate" and 200 <= status < 300:
            self.task_updates.inc()

    def time_pick(self) -> Callable[[], None]:
        """Start timing a scheduler pick; call the result when it is done."""
        began = time.perf_counter()
        return lambda: self.scheduler_pick.observe(time.perf_counter() - began)

    def watch_socketio(self, count: Callable[[], int]) -> None:
        self.socketio_clients.set_function(count)

    def watch_mqtt_queue(self, length: Callable[[], int]) -> None:
        self.mqtt_queue_length.set_function(length)

    def watch_farm(self, manager: Any) -> None:
        """Job, task and worker counts, database size and webhook outbox, read at each scrape."""
        from .farm import FarmCollector

        self.registry.register(FarmCollector(manager))

    # -- serving --

    def render(self) -> bytes:
        return generate_latest(self.registry)
