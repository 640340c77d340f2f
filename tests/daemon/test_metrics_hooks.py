"""What the metrics count, in process: ProviderHttp's exchanges through its observer
(requests by status class, errors by kind, 429s, waits, latency), the engines' calls,
the scrape-time gauges (inbox age, store import lag) and the install/current hook."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from patchbayd import metrics as metrics_mod
from patchbayd.clock import FakeClock, isoformat
from patchbayd.metrics import Metrics
from patchbayd.providers import http as provider_http
from patchbayd.providers.base import RowResult
from patchbayd.providers.errors import AuthFailed, Rejected, Transient
from patchbayd.providers.http import ProviderHttp
from patchbayd.providers.ratelimit import RateLimiter

pytestmark = pytest.mark.anyio


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    yield Metrics(lambda: 0.0, {}, clock=FakeClock())


def client(
    handler: httpx.MockTransport, observer: object | None, name: str = "Omnisend"
) -> ProviderHttp:
    return ProviderHttp(
        name,
        "http://provider.test",
        limiter=RateLimiter(None),
        transport=handler,
        observer=observer,  # type: ignore[arg-type]
    )


async def test_provider_exchanges_are_counted_by_integration_status_and_kind(
    metrics: Metrics,
) -> None:
    answers = iter([httpx.Response(429, headers={"retry-after": "0"}), httpx.Response(200)])
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/ok":
            return next(answers)
        if request.url.path == "/down":
            return httpx.Response(503)
        if request.url.path == "/key":
            return httpx.Response(401)
        if request.url.path == "/bad":
            return httpx.Response(422, json={"message": "no"})
        if request.url.path == "/garbled":
            return httpx.Response(200, content=b"<html>")
        raise httpx.ConnectError("refused")

    observer = metrics.provider_observer(lambda http: ("4", "omnisend"))
    http = client(httpx.MockTransport(handle), observer)
    response = await http.request("GET", "/ok")  # a 429 waited out, then 200
    assert response.status_code == 200
    for path, error in (("/down", Transient), ("/key", AuthFailed), ("/bad", Rejected)):
        with pytest.raises(error):
            http.raise_for_status(await http.request("GET", path), lambda body: None)
    with pytest.raises(Transient):
        http.json(await http.request("GET", "/garbled"))
    with pytest.raises(Transient):
        await http.request("GET", "/gone")
    await http.aclose()

    labels = {"integration": "4", "provider": "omnisend"}
    total = "patchbay_provider_requests_total"
    assert value(metrics, total, **labels, status="2xx") == 2
    assert value(metrics, total, **labels, status="4xx") == 3  # the 429, 401 and 422
    assert value(metrics, total, **labels, status="5xx") == 1
    assert value(metrics, total, **labels, status="none") == 1
    assert value(metrics, "patchbay_provider_throttled_total", **labels) == 1
    errors = "patchbay_provider_errors_total"
    for kind in ("transient", "auth", "rejected", "malformed", "unreachable"):
        assert value(metrics, errors, **labels, kind=kind) == 1, kind
    assert value(metrics, "patchbay_provider_request_seconds_count", **labels) == 7
    # The 429's hold (at least 0.5 s) is waited for the next slot, not in the exchange.
    assert value(metrics, "patchbay_provider_rate_limit_wait_seconds_total", **labels) >= 0.4
    assert value(metrics, "patchbay_provider_request_seconds_sum", **labels) < 0.4


async def test_a_client_no_integration_owns_is_labelled_none_and_its_provider_word(
    metrics: Metrics,
) -> None:
    owners: dict[object, tuple[str, str]] = {}
    observer = metrics.provider_observer(owners.get)  # type: ignore[arg-type]
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    verifying = client(transport, observer, "Benchmark Email")
    await verifying.request("GET", "/")
    assert value(
        metrics,
        "patchbay_provider_requests_total",
        integration="none",
        provider="benchmark",
        status="2xx",
    )
    owners[verifying] = ("9", "benchmark")  # connected: from now on it is integration 9
    await verifying.request("GET", "/")
    assert value(
        metrics,
        "patchbay_provider_requests_total",
        integration="9",
        provider="benchmark",
        status="2xx",
    )
    odd = client(transport, observer, "Ünïcode Shop!")
    await odd.request("GET", "/")
    assert value(
        metrics,
        "patchbay_provider_requests_total",
        integration="none",
        provider="other",
        status="2xx",
    )
    for each in (verifying, odd):
        await each.aclose()


async def test_the_module_observer_is_used_when_the_client_has_none(metrics: Metrics) -> None:
    saved = provider_http.OBSERVER
    provider_http.OBSERVER = metrics.provider_observer(lambda http: ("2", "klaviyo"))
    try:
        http = client(httpx.MockTransport(lambda request: httpx.Response(204)), None, "Klaviyo")
        await http.request("POST", "/")
        await http.aclose()
    finally:
        provider_http.OBSERVER = saved
    assert value(
        metrics,
        "patchbay_provider_requests_total",
        integration="2",
        provider="klaviyo",
        status="2xx",
    )


async def test_without_an_observer_nothing_is_counted_and_nothing_breaks() -> None:
    saved = provider_http.OBSERVER
    provider_http.OBSERVER = None
    try:
        http = client(httpx.MockTransport(lambda request: httpx.Response(500)), None)
        with pytest.raises(Transient):
            http.raise_for_status(await http.request("GET", "/"), lambda body: None)
        await http.aclose()
    finally:
        provider_http.OBSERVER = saved


def test_sync_rows_runs_and_durations(metrics: Metrics) -> None:
    # Two filtered as invalid addresses, two unchanged, one that cannot be sent.
    metrics.sync_planned(3, 1, ["invalid_address", "invalid_address"], 2, 1)
    metrics.sync_sent(3, 1, [RowResult("a", True), RowResult("b", True), RowResult("c", False)])
    now = metrics.clock.now()
    metrics.sync_run_ended(3, 1, "done", isoformat(now - timedelta(seconds=90)), now)
    metrics.sync_run_ended(3, 1, "failed", "not a time", now)
    labels = {"sync": "3", "integration": "1"}
    rows = "patchbay_sync_rows_total"
    assert value(metrics, rows, **labels, outcome="sent") == 2
    assert value(metrics, rows, **labels, outcome="failed") == 2  # unsendable + refused
    assert value(metrics, rows, **labels, outcome="unchanged") == 2
    filtered = "patchbay_sync_rows_filtered_total"
    assert value(metrics, filtered, **labels, reason="invalid_address") == 2
    assert value(metrics, "patchbay_sync_runs_total", **labels, outcome="done") == 1
    assert value(metrics, "patchbay_sync_runs_total", **labels, outcome="failed") == 1
    assert value(metrics, "patchbay_sync_run_seconds_sum", **labels) == 90
    assert value(metrics, "patchbay_sync_run_seconds_count", **labels) == 1


async def test_inbox_age_and_store_lag_are_read_at_scrape_time(metrics: Metrics) -> None:
    clock = metrics.clock
    assert isinstance(clock, FakeClock)
    oldest = isoformat(clock.now())

    async def backlog() -> tuple[int, str | None]:
        return 12, oldest

    metrics.watch_inbox(backlog)
    metrics.watch_stores(lambda: ["shop", "other"])
    clock.advance(30)
    metrics.store_imported("shop", 5)
    clock.advance(20)
    await metrics.refresh()
    assert value(metrics, "patchbay_inbox_depth") == 12
    assert value(metrics, "patchbay_inbox_oldest_seconds") == 50
    assert value(metrics, "patchbay_store_import_lag_seconds", store="shop") == 20
    # Never imported: the lag counts from the start, so an alert sees a store that never works.
    assert value(metrics, "patchbay_store_import_lag_seconds", store="other") == 50
    assert value(metrics, "patchbay_store_imported_customers_total", store="shop") == 5


def test_consent_and_inbox_counts(metrics: Metrics) -> None:
    metrics.consent_decided(2, "applied")
    metrics.consent_decided(2, "deferred")
    metrics.inbox_processed(10, 0)
    metrics.inbox_processed(3, 2)
    consent = "patchbay_consent_decisions_total"
    assert value(metrics, consent, integration="2", outcome="applied") == 1
    assert value(metrics, consent, integration="2", outcome="deferred") == 1
    assert value(metrics, "patchbay_inbox_rows_total", outcome="applied") == 13
    assert value(metrics, "patchbay_inbox_rows_total", outcome="quarantined") == 2


def test_the_engines_count_into_the_installed_metrics(metrics: Metrics) -> None:
    saved = metrics_mod._installed
    try:
        metrics_mod._installed = None
        detached = metrics_mod.current()
        assert detached is metrics_mod.current() and detached is not metrics
        metrics_mod.install(metrics)
        metrics_mod.current().consent_decided(1, "stale")
        assert value(metrics, "patchbay_consent_decisions_total", integration="1", outcome="stale")
    finally:
        metrics_mod._installed = saved
