"""deploy/grafana-dashboard.json and deploy/prometheus-alerts.yml use only what the
daemon exports: every metric name their PromQL selects is a series of the Metrics
registry (by prometheus-client's suffix rules: a counter is X_total, a histogram
X_bucket/_count/_sum), and every label they match or group on is one that series has.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from patchbayd.clock import FakeClock, isoformat
from patchbayd.metrics import Metrics
from patchbayd.providers.base import RowResult
from patchbayd.providers.http import ProviderHttp
from patchbayd.providers.ratelimit import RateLimiter
from tests.deploy_metrics import (
    ALERTS,
    alert_rules,
    dashboard,
    deploy_exprs,
    exported_by_registry,
    grouping_labels,
    load_yaml,
    metric_names,
    selector_labels,
)

pytestmark = pytest.mark.anyio


async def exercised() -> Metrics:
    """A Metrics with every watcher wired and every counter given a sample, so each
    series shows its labels."""
    clock = FakeClock()
    metrics = Metrics(lambda: 1.0, {"info": 1, "error": 0}, clock=clock)
    metrics.requests.labels("/healthz", "200").inc()
    metrics.rejected.labels("/ingest/{store}", "bad_token").inc()
    metrics.deliveries.labels("welcome", "1", "dead").inc()
    metrics.attempt_seconds.observe(0.1)
    metrics.watch_quarantine(lambda: 0)
    metrics.watch_connections(lambda: {"open": 1, "max": 10, "refused": 0, "timed_out": 0})
    metrics.watch_outbox(lambda: (0, 0.0))

    async def backlog() -> tuple[int, str | None]:
        return 3, isoformat(clock.now() - timedelta(seconds=42))

    metrics.watch_inbox(backlog)
    metrics.watch_stores(lambda: ["shop"])
    http = ProviderHttp("Omnisend", "http://x", limiter=RateLimiter(None))
    observer = metrics.provider_observer(lambda h: ("1", "omnisend"))
    observer.exchange(http, 200, 0.1, 0.01)
    observer.exchange(http, 429, 0.1, 0.0)
    observer.failed(http, "transient")
    metrics.sync_planned(7, 1, ["role_address"], 1, 1)
    metrics.sync_sent(7, 1, [RowResult("a@b", True), RowResult("c@d", False, "refused")])
    metrics.sync_run_ended(7, 1, "done", isoformat(clock.now()), clock.now())
    metrics.consent_decided(1, "applied")
    metrics.inbox_processed(5, 1)
    metrics.store_imported("shop", 2)
    await metrics.refresh()
    await http.aclose()
    return metrics


async def test_every_metric_and_label_the_deploy_files_use_is_exported() -> None:
    series = exported_by_registry((await exercised()).registry)
    used = 0
    for file, exprs in deploy_exprs().items():
        assert exprs, f"{file}: no PromQL found"
        for expr in exprs:
            names = metric_names(expr)
            assert names, f"{file}: no metric in {expr!r}"
            missing = sorted(n for n in names if n not in series)
            assert not missing, f"{file}: {missing} not exported (in {expr!r})"
            for name, labels in selector_labels(expr).items():
                unknown = labels - series[name]
                assert not unknown, f"{file}: {name} has no label {sorted(unknown)} ({expr!r})"
            known = set().union(*(series[n] for n in names))
            unknown = grouping_labels(expr) - known
            assert not unknown, f"{file}: grouping by {sorted(unknown)} in {expr!r}"
            used += len(names)
    assert used > 40


async def test_the_suffix_rules_refuse_a_base_name_and_take_the_series_names() -> None:
    series = exported_by_registry((await exercised()).registry)
    assert "patchbay_provider_requests_total" in series
    assert "patchbay_provider_requests" not in series  # a counter is only seen as _total
    for suffix in ("_bucket", "_count", "_sum"):
        assert f"patchbay_provider_request_seconds{suffix}" in series
    assert "patchbay_provider_request_seconds" not in series
    assert "patchbay_inbox_depth" in series and "patchbay_inbox_depth_total" not in series
    assert "patchbay_log_events_total" in series  # a collector's counter family, too
    assert series["patchbay_provider_request_seconds_bucket"] == {"integration", "provider", "le"}
    assert series["patchbay_sync_rows_total"] == {"sync", "integration", "outcome"}


def test_the_promql_reader_finds_metrics_not_functions_labels_or_numbers() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (integration, le) (rate(a_bucket{kind!="x"}[5m])))'
        " / on (integration) group_left b_total offset 1h > 1e-9 and absent(c:d)"
        ' unless sum(rate(e_total{integration=~"$integration"}[$__rate_interval])) by (sync)'
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c:d", "e_total"}
    assert selector_labels(expr) == {"a_bucket": {"kind"}, "e_total": {"integration"}}
    assert grouping_labels(expr) == {"integration", "le", "sync"}
    assert metric_names("up == 0") == {"up"}  # a name the daemon does not export is seen


def test_the_dashboard_is_a_grafana_dashboard_on_one_datasource() -> None:
    board = dashboard()
    assert board["uid"] == "patchbay" and board["title"] and board["schemaVersion"] >= 36
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "integration", "sync"} <= variables
    for panel in panels:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_the_alert_rules_are_prometheus_rules() -> None:
    rules = alert_rules()
    text = ALERTS.read_text()
    assert len(rules) == len(re.findall(r"^\s*expr:", text, re.MULTILINE)) >= 12
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"Patchbay[A-Z][A-Za-z]+", rule["alert"])
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        assert "for" not in rule or re.fullmatch(r"\d+[smhd]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    wanted = {
        "PatchbayProviderErrors",
        "PatchbayProviderRateLimited",
        "PatchbayInboxStalled",
        "PatchbaySyncRunsFailing",
        "PatchbayDeadDeliveries",
        "PatchbayStoreImportLag",
    }
    assert wanted <= set(names)


def test_the_yaml_subset_reader() -> None:
    text = """
# a comment
groups:
  - name: g   # trailing comment
    rules:
      - alert: A
        expr: |
          sum(x)
            > 1

        for: 5m
        labels:
          severity: "warn \\"q\\""
      - alert: 'it''s'
        expr: >-
          a
          b
    list:
      - 1
      - two
"""
    loaded: Any = load_yaml(text)
    group = loaded["groups"][0]
    assert group["name"] == "g"
    assert group["rules"][0] == {
        "alert": "A",
        "expr": "sum(x)\n  > 1\n",
        "for": "5m",
        "labels": {"severity": 'warn "q"'},
    }
    assert group["rules"][1] == {"alert": "it's", "expr": "a b"}
    assert group["list"] == [1, "two"]
    with pytest.raises(ValueError, match="outside the subset"):
        load_yaml("a: [1, 2]\n")
    with pytest.raises(ValueError, match="duplicate key"):
        load_yaml("a: 1\na: 2\n")
