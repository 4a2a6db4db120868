"""The served metric families, and the Grafana dashboard in docs/ that uses them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from flamenco_pkg.manager.config import Config
from flamenco_pkg.manager.context import open_manager
from flamenco_pkg.manager.metrics.farm import status_families

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def served_samples(tmp_path) -> set[str]:
    cfg = Config()
    cfg.database = str(tmp_path / "metrics.sqlite")
    manager = open_manager(cfg, tmp_path / "flamenco-manager.yaml", tmp_path, None)
    try:
        manager.metrics.observe_request("taskUpdate", 204, 0.01)
        manager.metrics.observe_request("taskUpdate", 409, 0.01)
        manager.metrics.time_pick()()
        text = manager.metrics.render().decode()
    finally:
        manager.db.close()
    families = list(text_string_to_metric_families(text))
    updates = next(f for f in families if f.name == "flamenco_task_updates")
    assert [s.value for s in updates.samples] == [1.0]  # only accepted updates count
    return {s.name for f in families for s in f.samples}


def test_the_dashboard_only_uses_served_metrics(tmp_path):
    served = served_samples(tmp_path)
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bflamenco_\w+", expr)}
    assert used and used <= served, used - served


def test_every_known_status_is_reported_even_at_zero():
    jobs, tasks, workers = status_families({"job": {"queued": 3, "odd-status": 1}, "task": {}, "worker": {"": 2}})
    job_values = {s.labels["status"]: s.value for s in jobs.samples}
    assert job_values["queued"] == 3 and job_values["completed"] == 0 and job_values["odd-status"] == 1
    assert {s.labels["status"]: s.value for s in workers.samples}["registered"] == 2
    assert all(s.value == 0 for s in tasks.samples) and len(tasks.samples) == 7
