"""History and metrics on the real daemon: /v1/log reads the event_log table for
since/until, and /metrics exports every name deploy/'s dashboard and alerts use, with
a sync's rows, its provider's requests and a store's import counted under their ids."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy_metrics import deploy_exprs, exported_by_text, metric_names
from tests.e2e.test_sync import connect, create_sync, customer, ingest, wait_runs
from tests.support import Daemon, Sandbox, wait


def scrape(daemon: Daemon) -> str:
    answer = httpx.get(daemon.url("/metrics"), timeout=10)
    answer.raise_for_status()
    return answer.text


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for one in family.samples:
            if one.name == name and one.labels == labels:
                return float(one.value)
    return None


def control(daemon: Daemon, **params: object) -> httpx.Response:
    transport = httpx.HTTPTransport(uds=str(daemon.socket))
    with httpx.Client(transport=transport, base_url="http://patchbay", timeout=30) as client:
        return client.get("/v1/log", params=params)  # type: ignore[arg-type]


def test_metrics_export_every_name_the_dashboard_and_alerts_use(daemon: Daemon) -> None:
    series = exported_by_text(scrape(daemon))
    for file, exprs in deploy_exprs().items():
        for expr in exprs:
            missing = sorted(n for n in metric_names(expr) if n not in series)
            assert not missing, f"{file}: {missing} not in the daemon's /metrics ({expr!r})"


def test_a_sync_its_provider_and_a_store_import_are_counted(hub: Daemon, sandbox: Sandbox) -> None:
    people = [customer(i) for i in range(5)]
    people += [customer(50, email="not-an-address"), customer(51, email="info@example.com")]
    ingest(hub, "customers", people)
    omnisend = connect(hub, sandbox, "omnisend")
    sync_id = create_sync(hub, omnisend, "--mode", "once")
    assert wait_runs(hub, sync_id, 1)["counts"]["sent"] == 5
    wait(lambda: 'patchbay_store_imported_customers_total{store="shop"}' in scrape(hub))
    text = scrape(hub)

    sync = {"sync": str(sync_id), "integration": str(omnisend)}
    assert sample(text, "patchbay_sync_rows_total", **sync, outcome="sent") == 5
    filtered = "patchbay_sync_rows_filtered_total"
    assert sample(text, filtered, **sync, reason="invalid_address") == 1
    assert sample(text, filtered, **sync, reason="role_address") == 1
    assert sample(text, "patchbay_sync_runs_total", **sync, outcome="done") == 1
    assert sample(text, "patchbay_sync_run_seconds_count", **sync) == 1

    provider = {"integration": str(omnisend), "provider": "omnisend"}
    assert (sample(text, "patchbay_provider_requests_total", **provider, status="2xx") or 0) >= 1
    assert (sample(text, "patchbay_provider_request_seconds_count", **provider) or 0) >= 1
    # The credentials were verified before the integration existed: no id yet.
    verified = sample(
        text,
        "patchbay_provider_requests_total",
        integration="none",
        provider="omnisend",
        status="2xx",
    )
    assert (verified or 0) >= 1
    assert sample(text, "patchbay_provider_errors_total", **provider, kind="auth") is None

    assert sample(text, "patchbay_inbox_depth") == 0
    assert sample(text, "patchbay_inbox_oldest_seconds") == 0
    assert (sample(text, "patchbay_inbox_rows_total", outcome="applied") or 0) >= len(people)
    lag = sample(text, "patchbay_store_import_lag_seconds", store="shop")
    assert lag is not None and lag < 60
    assert sample(text, "patchbay_store_import_lag_seconds", store="demo") is None  # push


def test_logs_since_and_until_reach_the_event_log_table(daemon: Daemon) -> None:
    first = control(daemon, backlog=100).json()["events"]
    ready = [e for e in first if e["message"] == "patchbayd ready"]
    assert len(ready) == 1
    assert daemon.stop() == 0
    daemon.start()
    events = control(daemon, backlog=100).json()["events"]
    second = [e for e in events if e["message"] == "patchbayd ready"][-1]

    before = control(daemon, until=second["ts"], backlog=5000).json()["events"]
    assert "patchbayd ready" in [e["message"] for e in before]
    assert all(e["ts"] < second["ts"] for e in before)
    assert ready[0]["id"] in [e["id"] for e in before]
    since = control(daemon, since=second["ts"]).json()["events"]
    assert second["id"] in [e["id"] for e in since] and ready[0]["id"] not in [
        e["id"] for e in since
    ]
    assert control(daemon, since="1h", level="info").json()["events"]

    bad = control(daemon, since="last tuesday")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "bad_request"
    assert "since must be an ISO-8601 time" in error["message"]
    assert control(daemon, backlog=100_001).status_code == 400
