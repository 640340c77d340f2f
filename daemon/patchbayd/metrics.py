"""Prometheus metrics for the public listener, in the client library's own exposition."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _LogEvents(Collector):
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "patchbay_log_events", "Log events emitted, by level", labels=["level"]
        )
        for level, count in self.counts.items():
            family.add_metric([level], count)
        yield family


class _Connections(Collector):
    def __init__(self, counts: Callable[[], dict[str, int | float]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self.counts()
        yield GaugeMetricFamily(
            "patchbay_public_connections", "Public connections open now", value=counts["open"]
        )
        yield GaugeMetricFamily(
            "patchbay_public_connections_max",
            "Public connections allowed at once",
            value=counts["max"],
        )
        yield CounterMetricFamily(
            "patchbay_public_connections_refused",
            "Connections refused at once: over the cap",
            value=counts["refused"],
        )
        yield CounterMetricFamily(
            "patchbay_public_connections_timed_out",
            "Connections closed for sending headers or body too slowly",
            value=counts["timed_out"],
        )


class _Outbox(Collector):
    def __init__(self, depth: Callable[[], tuple[int, float]]) -> None:
        self.depth = depth

    def collect(self) -> Iterator[Metric]:
        count, age = self.depth()
        yield GaugeMetricFamily(
            "patchbay_outbox_depth", "Deliveries pending or retrying", value=count
        )
        yield GaugeMetricFamily(
            "patchbay_outbox_oldest_seconds", "Age of the oldest open delivery", value=age
        )


class Metrics:
    def __init__(self, uptime: Callable[[], float], log_counts: dict[str, int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "patchbay_http_requests",
            "Public HTTP requests, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "patchbay_rejected_requests",
            "Public requests refused, by route and reason",
            ["route", "reason"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "patchbay_deliveries",
            "Delivery attempts by route, integration and outcome (delivered, retrying, dead)",
            ["route", "integration", "outcome"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "patchbay_delivery_attempt_seconds",
            "How long one delivery attempt took",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        uptime_gauge = Gauge(
            "patchbay_uptime_seconds", "Seconds since the daemon started", registry=self.registry
        )
        uptime_gauge.set_function(uptime)
        self.registry.register(_LogEvents(log_counts))

    def watch_quarantine(self, count: Callable[[], int]) -> None:
        gauge = Gauge(
            "patchbay_inbox_quarantined",
            "Inbox rows that could not be processed, set aside for replay",
            registry=self.registry,
        )
        gauge.set_function(count)

    def watch_connections(self, counts: Callable[[], dict[str, int | float]]) -> None:
        self.registry.register(_Connections(counts))

    def watch_outbox(self, depth: Callable[[], tuple[int, float]]) -> None:
        """Open deliveries and the age in seconds of the oldest, read at scrape time."""
        self.registry.register(_Outbox(depth))

    def render(self) -> bytes:
        return generate_latest(self.registry)
