"""Gauges read at scrape time: the farm's status counts, database files, webhook outbox.

The status counts come from `db/status_totals.py`: kept totals for jobs and
Workers, per-job task counts summed for tasks, read on a reader connection so
a scrape never waits for the writer nor holds it. Every known status is
reported (0 when absent) so dashboards keep steady series.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from flamenco_pkg.api.statuses import JobStatus, TaskStatus, WorkerStatus

from ..db import status_totals
from ..db import webhooks as webhook_db

# A Worker that registered but never signed on has status "" in the API.
UNSIGNED_WORKER = "registered"


def status_families(totals: dict[str, dict[str, int]]) -> list[GaugeMetricFamily]:
    """flamenco_jobs / _tasks / _workers {status} from the kept totals (pure)."""
    known = {"job": [str(s) for s in JobStatus], "task": [str(s) for s in TaskStatus],
             "worker": [UNSIGNED_WORKER, *(str(s) for s in WorkerStatus)]}
    names = {"job": ("flamenco_jobs", "Jobs by status."), "task": ("flamenco_tasks", "Tasks by status."),
             "worker": ("flamenco_workers", "Workers (not deleted) by status.")}
    families = []
    for kind, (name, doc) in names.items():
        counts = {(UNSIGNED_WORKER if kind == "worker" and not s else s): n
                  for s, n in totals.get(kind, {}).items()}
        family = GaugeMetricFamily(name, doc, labels=["status"])
        for status in dict.fromkeys([*known[kind], *sorted(counts)]):
            family.add_metric([status], counts.get(status, 0))
        families.append(family)
    return families


def file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _scrape_inputs(conn) -> tuple[dict[str, dict[str, int]], int]:
    return status_totals.fetch(conn), webhook_db.pending(conn)


class FarmCollector(Collector):
    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def describe(self) -> list:
        return []  # collected live; nothing to check for name clashes up front

    def collect(self) -> Iterator[GaugeMetricFamily]:
        db = self.manager.db
        totals, outbox = db.read(_scrape_inputs)
        yield from status_families(totals)
        yield GaugeMetricFamily("flamenco_database_size_bytes", "Size of the SQLite database file.",
                                value=file_size(db.path))
        yield GaugeMetricFamily("flamenco_database_wal_size_bytes", "Size of the SQLite write-ahead log.",
                                value=file_size(db.path + "-wal"))
        yield GaugeMetricFamily("flamenco_webhook_outbox", "Webhook deliveries waiting to be sent or retried.",
                                value=outbox)
