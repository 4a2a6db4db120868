"""The lock-free request metrics are served exactly as prometheus_client's own Counter and Histogram.

(Importing the metrics package switches prometheus_client's `_created` series off, for both sides.)
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from flamenco_pkg.manager.metrics.lockless import LoopCollector, LoopCounter, LoopHistogram

AMOUNTS = [0.0, 0.0001, 0.005, 0.0051, 0.3, 10.0, 11.0, 1e9]
BUCKETS = (0.0001, 0.001, 1.0)


def test_the_same_observations_give_the_same_exposition():
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    labelled = LoopHistogram("x_seconds", "Doc x.", "operation")
    plain = LoopHistogram("y_seconds", "Doc y.", buckets=BUCKETS)
    count = LoopCounter("z", "Doc z.")
    ours.register(LoopCollector([labelled, plain, count]))
    their_labelled = Histogram("x_seconds", "Doc x.", ["operation"], registry=theirs)
    their_plain = Histogram("y_seconds", "Doc y.", buckets=BUCKETS, registry=theirs)
    their_count = Counter("z", "Doc z.", registry=theirs)
    for n, amount in enumerate(AMOUNTS):
        op = ("taskUpdate", "scheduleTask")[n % 2]
        labelled.labels(op).observe(amount)
        their_labelled.labels(operation=op).observe(amount)
        plain.observe(amount)
        their_plain.observe(amount)
        count.inc()
        their_count.inc()
    count.inc(2.5)
    their_count.inc(2.5)
    assert generate_latest(ours) == generate_latest(theirs)


def test_unused_metrics_are_served_as_prometheus_client_serves_them():
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    ours.register(LoopCollector([LoopHistogram("x_seconds", "Doc x.", "operation"),
                                 LoopHistogram("y_seconds", "Doc y.", buckets=BUCKETS), LoopCounter("z", "Doc z.")]))
    Histogram("x_seconds", "Doc x.", ["operation"], registry=theirs)
    Histogram("y_seconds", "Doc y.", buckets=BUCKETS, registry=theirs)
    Counter("z", "Doc z.", registry=theirs)
    text = generate_latest(ours)
    assert text == generate_latest(theirs)
    assert b'y_seconds_bucket{le="+Inf"} 0.0' in text and b"x_seconds_bucket" not in text
