"""Counters and histograms moved on every request, kept as plain numbers by the event loop.

prometheus_client guards every value with a lock, which gevent's monkey-patching
turns into a greenlet-aware one: a histogram observation cost more than the rest
of the metrics work of a request together. These are only ever moved from the
event loop's thread (request greenlets, the scheduler), so they need no lock;
they are read at scrape time by `LoopCollector`, which serves them in exactly
the form prometheus_client's own Counter and Histogram do.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.metrics import Histogram
from prometheus_client.registry import Collector
from prometheus_client.utils import INF, floatToGoString

DEFAULT_BUCKETS: tuple[float, ...] = tuple(Histogram.DEFAULT_BUCKETS)


class LoopCounter:
    """A counter without labels; `inc` from the event loop's thread only."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def family(self) -> Metric:
        return CounterMetricFamily(self.name, self.documentation, value=self.value)


class _Series:
    __slots__ = ("counts", "sum", "bounds")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)  # per bucket, not cumulative
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        """Counted in the first bucket whose upper bound is >= amount, as prometheus_client does."""
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


class LoopHistogram:
    """A histogram with at most one label; `labels(value)` is the series to `observe` on."""

    def __init__(self, name: str, documentation: str, label: str | None = None,
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        bounds = tuple(float(b) for b in buckets)
        self.bounds = bounds if bounds[-1] == INF else (*bounds, INF)
        self.name = name
        self.documentation = documentation
        self.label = label
        self._series: dict[str, _Series] = {}
        if label is None:
            self.labels()  # served at zero from the start, as prometheus_client does

    def labels(self, value: str = "") -> _Series:
        series = self._series.get(value)
        if series is None:
            series = self._series[value] = _Series(self.bounds)
        return series

    def observe(self, amount: float) -> None:
        """For a histogram without a label."""
        self.labels().observe(amount)

    def family(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation,
                                       labels=[self.label] if self.label else None)
        les = [floatToGoString(b) for b in self.bounds]
        for value, series in list(self._series.items()):
            cumulative, running = [], 0
            for le, count in zip(les, series.counts):
                running += count
                cumulative.append((le, float(running)))
            family.add_metric([value] if self.label else [], cumulative, series.sum)
        return family


class LoopCollector(Collector):
    """Serves the loop metrics of one registry."""

    def __init__(self, metrics: Sequence[LoopCounter | LoopHistogram]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        for metric in self.metrics:
            yield metric.family()
