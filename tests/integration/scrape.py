"""GET /metrics parsed with prometheus-client's own parser."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    def __init__(self, base_url: str) -> None:
        resp = requests.get(base_url.rstrip("/") + "/metrics", timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("text/plain")
        self.families = {f.name: f for f in text_string_to_metric_families(resp.text)}

    def value(self, sample: str, **labels: str) -> float:
        """One sample's value (e.g. `flamenco_jobs` with status="queued"); a missing sample fails."""
        for family in self.families.values():
            for s in family.samples:
                if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        raise AssertionError(f"no sample {sample} {labels} in /metrics")

def metric(base_url: str, sample: str, **labels: str) -> float:
    return Scrape(base_url).value(sample, **labels)
