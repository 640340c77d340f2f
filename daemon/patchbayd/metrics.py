"""Prometheus metrics for the public listener, in the client library's own exposition.

What an operator graphs and alerts on (deploy/grafana-dashboard.json and
deploy/prometheus-alerts.yml use these names, and tests/daemon/test_observability_files.py
checks that every name they use is exported here):

  patchbay_provider_*   every HTTP exchange with a provider, by integration and provider
  patchbay_sync_*       rows each sync sent, failed, skipped unchanged or filtered, its runs
  patchbay_consent_*    consent decisions by outcome
  patchbay_inbox_*      rows waiting, the age of the oldest, rows processed
  patchbay_outbox_*, patchbay_deliveries_*   single deliveries (pending, dead ...)
  patchbay_store_*      each Shopify store's import: lag since the last one that worked

Label values are bounded sets only: integration and sync ids, provider and store names
from the config, and the fixed outcome/reason/kind words below; never an email, a path
or a message.

The service builds one `Metrics` and `install()`s it; the engines count into
`current()` (a one-line call where the thing happens), and ProviderHttp reports each
exchange to the observer the service sets on `providers.http.OBSERVER`. Without a
service (tests, tools), `current()` is a detached registry nobody reads.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .clock import Clock, SystemClock, parse_time

if TYPE_CHECKING:  # (never the engines: they import this module)
    from .providers.base import RowResult
    from .providers.http import ProviderHttp

# The words the enum labels take (documented; the tests hold the engines to them).
PROVIDER_ERROR_KINDS = (
    "auth",  # 401/403: the key is wrong or revoked
    "rejected",  # another 4xx: the provider refused this request
    "transient",  # 408/5xx
    "timeout",  # no answer in time
    "unreachable",  # connection refused, reset, DNS ...
    "malformed",  # an answer that is not the JSON it should be
    "rate_limited",  # 429 after 429, given up on
)
SYNC_ROW_OUTCOMES = ("sent", "failed", "unchanged")
SYNC_RUN_OUTCOMES = ("done", "failed")
CONSENT_OUTCOMES = (
    "applied",
    "suppressed",
    "stale",
    "duplicate",
    "ignored",
    "lookup",
    "failed",
    "deferred",  # the provider could not be reached: the event waits for a later try
)
INBOX_OUTCOMES = ("applied", "quarantined")
UNRESOLVED = "none"  # integration label of an exchange no integration owns (yet)
_PROVIDER_WORD = re.compile(r"[a-z0-9_]{1,24}")


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


class _Inbox(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        count, age = self.metrics.inbox_depth
        yield GaugeMetricFamily(
            "patchbay_inbox_depth", "Inbox rows received and not yet processed", value=count
        )
        yield GaugeMetricFamily(
            "patchbay_inbox_oldest_seconds",
            "Age of the oldest unprocessed inbox row (grows when processing stalls)",
            value=age,
        )


class _Stores(Collector):
    def __init__(self, metrics: Metrics, names: Callable[[], Iterable[str]]) -> None:
        self.metrics, self.names = metrics, names

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "patchbay_store_import_lag_seconds",
            "Seconds since the store's last successful import (since the daemon started "
            "if none has worked yet)",
            labels=["store"],
        )
        for name in self.names():
            family.add_metric([name], self.metrics.store_lag(name))
        yield family


class ProviderObserver:
    """Counts each HTTP exchange of a ProviderHttp (the `providers.http.HttpObserver`
    the service installs). `resolve` names the integration a client belongs to:
    (integration id, provider) or None (a connect being verified, a store's client)."""

    def __init__(
        self, metrics: Metrics, resolve: Callable[[ProviderHttp], tuple[str, str] | None]
    ) -> None:
        self.metrics, self.resolve = metrics, resolve
        self._labels: weakref.WeakKeyDictionary[ProviderHttp, tuple[str, str]] = (
            weakref.WeakKeyDictionary()
        )

    def labels(self, http: ProviderHttp) -> tuple[str, str]:
        found = self._labels.get(http)
        if found is not None:
            return found
        resolved = self.resolve(http)
        if resolved is None:  # not cached: once the integration exists, it resolves
            word = (http.name.split() or ["other"])[0].lower()
            return UNRESOLVED, word if _PROVIDER_WORD.fullmatch(word) else "other"
        self._labels[http] = resolved
        return resolved

    def exchange(
        self, http: ProviderHttp, status: int | None, seconds: float, waited: float
    ) -> None:
        """One request sent: its status (None: no answer), its time, the rate-limit wait."""
        labels = self.labels(http)
        m = self.metrics
        m.provider_requests.labels(*labels, f"{status // 100}xx" if status else "none").inc()
        m.provider_seconds.labels(*labels).observe(seconds)
        if waited > 0.0005:
            m.provider_wait.labels(*labels).inc(waited)
        if status == 429:
            m.provider_throttled.labels(*labels).inc()

    def failed(self, http: ProviderHttp, kind: str) -> None:
        """A call that ends in a provider error; `kind` is one of PROVIDER_ERROR_KINDS."""
        self.metrics.provider_errors.labels(*self.labels(http), kind).inc()


class Metrics:
    def __init__(
        self,
        uptime: Callable[[], float],
        log_counts: dict[str, int],
        *,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self._started = self.clock.monotonic()
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

        provider = ["integration", "provider"]
        self.provider_requests = Counter(
            "patchbay_provider_requests",
            "HTTP requests to providers, by status class (2xx ... 5xx; none: no answer)",
            [*provider, "status"],
            registry=self.registry,
        )
        self.provider_errors = Counter(
            "patchbay_provider_errors",
            "Provider calls that failed, by kind: " + ", ".join(PROVIDER_ERROR_KINDS),
            [*provider, "kind"],
            registry=self.registry,
        )
        self.provider_throttled = Counter(
            "patchbay_provider_throttled",
            "429 (rate limited) answers from providers, each waited out before trying again",
            provider,
            registry=self.registry,
        )
        self.provider_wait = Counter(
            "patchbay_provider_rate_limit_wait_seconds",
            "Seconds requests waited for a rate-limit slot (pacing, 429 holds, concurrency)",
            provider,
            registry=self.registry,
        )
        self.provider_seconds = Histogram(
            "patchbay_provider_request_seconds",
            "How long one HTTP exchange with a provider took (rate-limit waits excluded)",
            provider,
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

        sync = ["sync", "integration"]
        self.sync_rows = Counter(
            "patchbay_sync_rows",
            "Rows syncs handled, by outcome: " + ", ".join(SYNC_ROW_OUTCOMES),
            [*sync, "outcome"],
            registry=self.registry,
        )
        self.sync_filtered = Counter(
            "patchbay_sync_rows_filtered",
            "Rows syncs left out, by reason (invalid_address, role_address, duplicate ...)",
            [*sync, "reason"],
            registry=self.registry,
        )
        self.sync_runs = Counter(
            "patchbay_sync_runs",
            "Sync runs ended, by outcome: " + ", ".join(SYNC_RUN_OUTCOMES),
            [*sync, "outcome"],
            registry=self.registry,
        )
        self.sync_run_seconds = Histogram(
            "patchbay_sync_run_seconds",
            "How long sync runs took, start to end (a resumed run from its first start)",
            sync,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600),
            registry=self.registry,
        )

        self.consent_decisions = Counter(
            "patchbay_consent_decisions",
            "Consent decisions, by integration and outcome: " + ", ".join(CONSENT_OUTCOMES),
            ["integration", "outcome"],
            registry=self.registry,
        )
        self.inbox_rows = Counter(
            "patchbay_inbox_rows",
            "Inbox rows processed, by outcome: " + ", ".join(INBOX_OUTCOMES),
            ["outcome"],
            registry=self.registry,
        )
        self.store_customers = Counter(
            "patchbay_store_imported_customers",
            "Customers read by a store's periodic import",
            ["store"],
            registry=self.registry,
        )
        self.inbox_depth: tuple[int, float] = (0, 0.0)  # refreshed by refresh(), per scrape
        self._inbox_backlog: Callable[[], Awaitable[tuple[int, str | None]]] | None = None
        self._imported_at: dict[str, float] = {}
        self.registry.register(_Inbox(self))

    # ---- wiring (the service) ----------------------------------------------------------

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

    def watch_inbox(self, backlog: Callable[[], Awaitable[tuple[int, str | None]]]) -> None:
        """Rows waiting and when the oldest arrived, read by `refresh()` at each scrape."""
        self._inbox_backlog = backlog

    def watch_stores(self, names: Callable[[], Iterable[str]]) -> None:
        """The stores that import (Shopify): each gets an import lag, read at scrape time."""
        self.registry.register(_Stores(self, names))

    def provider_observer(
        self, resolve: Callable[[ProviderHttp], tuple[str, str] | None]
    ) -> ProviderObserver:
        return ProviderObserver(self, resolve)

    async def refresh(self) -> None:
        """Read what only the database knows; call before `render()` (each scrape)."""
        if self._inbox_backlog is not None:
            count, oldest = await self._inbox_backlog()
            at = parse_time(oldest) if oldest else None
            age = max(0.0, (self.clock.now() - at).total_seconds()) if at else 0.0
            self.inbox_depth = (count, age)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # ---- what the engines count (one call each, where it happens) --------------------

    def sync_planned(
        self,
        sync_id: int,
        integration_id: int,
        filtered: Iterable[str],
        unchanged: int,
        unsendable: int,
    ) -> None:
        """A real run's batch, planned: the filter reason of each row left out (one of
        mapping.REASONS), the rows unchanged since their last send, those that cannot
        be sent (they fail without a request)."""
        labels = (str(sync_id), str(integration_id))
        reasons: dict[str, int] = {}
        for reason in filtered:
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, count in reasons.items():
            self.sync_filtered.labels(*labels, reason).inc(count)
        if unchanged:
            self.sync_rows.labels(*labels, "unchanged").inc(unchanged)
        if unsendable:
            self.sync_rows.labels(*labels, "failed").inc(unsendable)

    def sync_sent(self, sync_id: int, integration_id: int, results: Sequence[RowResult]) -> None:
        """A batch's per-row answers from the provider."""
        labels = (str(sync_id), str(integration_id))
        sent = sum(1 for r in results if r.ok)
        if sent:
            self.sync_rows.labels(*labels, "sent").inc(sent)
        if len(results) - sent:
            self.sync_rows.labels(*labels, "failed").inc(len(results) - sent)

    def sync_run_ended(
        self, sync_id: int, integration_id: int, outcome: str, started_at: str, now: datetime
    ) -> None:
        labels = (str(sync_id), str(integration_id))
        self.sync_runs.labels(*labels, outcome).inc()
        started = parse_time(started_at)
        if started is not None:
            self.sync_run_seconds.labels(*labels).observe(max(0.0, (now - started).total_seconds()))

    def consent_decided(self, integration_id: int, outcome: str) -> None:
        self.consent_decisions.labels(str(integration_id), outcome).inc()

    def inbox_processed(self, applied: int, quarantined: int) -> None:
        if applied:
            self.inbox_rows.labels("applied").inc(applied)
        if quarantined:
            self.inbox_rows.labels("quarantined").inc(quarantined)

    def store_imported(self, store: str, customers: int) -> None:
        """A store's import worked (however few customers it brought)."""
        self._imported_at[store] = self.clock.monotonic()
        self.store_customers.labels(store).inc(customers)

    def store_lag(self, store: str) -> float:
        return max(0.0, self.clock.monotonic() - self._imported_at.get(store, self._started))


_installed: Metrics | None = None
_detached: Metrics | None = None


def install(metrics: Metrics) -> None:
    """The daemon's metrics: what `current()` returns from now on."""
    global _installed
    _installed = metrics


def current() -> Metrics:
    """The installed metrics, or a detached registry nobody reads (no service running)."""
    global _detached
    if _installed is not None:
        return _installed
    if _detached is None:
        _detached = Metrics(lambda: 0.0, {})
    return _detached
