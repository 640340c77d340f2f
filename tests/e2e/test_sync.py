"""Syncs and order export end to end: the real daemon and CLI against the sandbox."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchbayd.engine.outbox import IN_FLIGHT
from tests.postgres import BACKENDS, database_for
from tests.support import PATCHBAY, Daemon, Sandbox, sandbox_config, wait


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here runs on SQLite and on PostgreSQL."""
    yield from database_for(request.param)


def customer(i: int, **changes: Any) -> dict[str, Any]:
    base = {
        "id": f"c{i:05d}",
        "email": f"member{i}@example.com",
        "first_name": f"M{i}",
        "created_at": "2026-06-01T00:00:00Z",
        "updated_at": "2026-06-01T00:00:00Z",
        "email_consent": {"state": "subscribed", "updated_at": "2026-06-01T00:00:00Z"},
        "member": {
            "points": i,
            "status": "active",
            "tier": "silver",
            "paid_tier": False,
            "tier_expires_at": "2027-06-30",
        },
    }
    return {**base, **changes}


def ingest(hub: Daemon, kind: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 1000):
        answer = httpx.post(
            hub.url(f"/ingest/demo/{kind}"),
            json={"items": items[start : start + 1000]},
            headers={"Authorization": "Bearer demo-token"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
    wait(lambda: hub.counts()["inbox_pending"] == 0)


def connect(
    hub: Daemon, sandbox: Sandbox, provider: str, key: str = "sandbox-key", *extra: str
) -> int:
    result = hub.connect(sandbox.url, provider, *extra, key=key)
    return int(json.loads(result.stdout)["id"])


def sync_show(hub: Daemon, sync_id: int) -> dict[str, Any]:
    return hub.api(f"/v1/syncs/{sync_id}")


def finished_runs(hub: Daemon, sync_id: int) -> list[dict[str, Any]]:
    return [r for r in sync_show(hub, sync_id)["runs"] if r["state"] != "running"]


def wait_runs(hub: Daemon, sync_id: int, count: int, timeout: float = 30) -> dict[str, Any]:
    wait(lambda: len(finished_runs(hub, sync_id)) >= count, timeout)
    return finished_runs(hub, sync_id)[0]


def create_sync(hub: Daemon, integration: int, *args: str) -> int:
    result = hub.cli("sync", "create", str(integration), "--segment", "all", *args, "--json")
    return int(json.loads(result.stdout)["id"])


def batch_items(sandbox: Sandbox) -> int:
    return int(sandbox.state("omnisend")["items"].get("POST /v3/batches", 0))


def test_full_then_incremental_with_filters_and_tags(hub: Daemon, sandbox: Sandbox) -> None:
    people = [customer(i) for i in range(40)]
    people += [
        customer(100, email="info@example.com"),
        customer(101, email="not-an-address"),
        customer(102, email="MEMBER1@example.com"),
        customer(103, email_consent={"state": "unsubscribed"}),
        customer(104, email_consent={"state": "not_subscribed"}),
        customer(105, created_at="2025-01-01T00:00:00Z"),
    ]
    ingest(hub, "customers", people)
    omnisend = connect(hub, sandbox, "omnisend")
    sync_id = create_sync(
        hub,
        omnisend,
        "--tags",
        "vip,loyal",
        "--acquired-since",
        "2026-01-01",
        "--map",
        "member.points=loyalty_points",
    )
    run = wait_runs(hub, sync_id, 1)
    counts = run["counts"]
    assert (counts["scanned"], counts["sent"], counts["failed"]) == (46, 40, 0)
    assert counts["filtered"] == {
        "invalid_address": 1,
        "role_address": 1,
        "duplicate": 1,
        "not_subscribed": 1,
        "unsubscribed": 1,
        "outside_acquisition_range": 1,
    }
    contacts = {c["email"]: c for c in sandbox.state("omnisend")["contacts"]}
    assert len(contacts) == 40
    ann = contacts["member7@example.com"]
    assert {"vip", "loyal"} <= set(ann["tags"])
    assert ann["customProperties"]["loyalty_points"] == 7
    assert ann["customProperties"]["tier"] == "silver"
    assert ann["customProperties"]["acquired_at"] == "2026-06-01T00:00:00.000Z"
    assert ann["identifiers"][0]["channels"]["email"]["status"] == "subscribed"
    assert sync_show(hub, sync_id)["state"] == "active"
    assert (
        json.loads(hub.cli("integrations", "list", "--json").stdout)["integrations"][0]["state"]
        == "active"
    )

    # Active mode: one real change and one that changes nothing mapped.
    sent_before = batch_items(sandbox)
    started = time.monotonic()
    ingest(
        hub,
        "customers",
        [
            customer(3, first_name="Changed", updated_at="2026-11-01T00:00:00Z"),
            customer(4, updated_at="2026-11-01T00:00:00Z"),
        ],
    )
    run = wait_runs(hub, sync_id, 2, timeout=5)  # reaches the destination within 5 s
    assert time.monotonic() - started < 5
    assert (run["counts"]["sent"], run["counts"]["unchanged"]) == (1, 1)
    assert run["full"] is False
    assert batch_items(sandbox) - sent_before <= 1
    contacts = {c["email"]: c for c in sandbox.state("omnisend")["contacts"]}
    assert contacts["member3@example.com"]["firstName"] == "Changed"


def test_dry_run_sends_nothing_and_reports(hub: Daemon, sandbox: Sandbox) -> None:
    ingest(hub, "customers", [customer(i) for i in range(5)] + [customer(9, email="x@y")])
    omnisend = connect(hub, sandbox, "omnisend")
    before = sandbox.state("omnisend")["requests"]
    result = hub.cli("sync", "create", str(omnisend), "--segment", "all", "--dry-run")
    assert "would send 5 of 6 scanned" in result.stdout
    assert "invalid address 1" in result.stdout
    raw = hub.cli("sync", "create", str(omnisend), "--segment", "all", "--dry-run", "--json")
    counts = json.loads(raw.stdout)["report"]["counts"]
    assert counts["would_send"] == 5 and None not in counts.values()  # unset ones left out
    assert sandbox.state("omnisend")["requests"] == before
    assert hub.api("/v1/syncs")["syncs"] == []


def test_running_an_existing_sync_dry_sends_nothing_and_reports(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """`sync run ID --dry-run` once ran the sync for real and then died on a KeyError
    (the client dropped ?dry_run=1). A dry run must send nothing."""
    ingest(hub, "customers", [customer(i) for i in range(3)])
    omnisend = connect(hub, sandbox, "omnisend")
    sync_id = create_sync(hub, omnisend, "--mode", "once")
    wait_runs(hub, sync_id, 1)
    ingest(hub, "customers", [customer(i, first_name="New") for i in range(3, 7)])
    # Their opt-ins go out as single writes first: decided, then delivered.
    wait(
        lambda: (
            all(
                hub.api(f"/v1/consent/member{i}@example.com/history")["history"]
                for i in range(3, 7)
            )
            and hub.api("/v1/status")["counts"]["outbox_open"] == 0
        )
    )
    before = sandbox.state("omnisend")["requests"]
    result = hub.cli("sync", "run", str(sync_id), "--dry-run", check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "would send 4 of" in result.stdout
    assert sandbox.state("omnisend")["requests"] == before
    assert len(finished_runs(hub, sync_id)) == 1  # no run was added


def test_failed_rows_keep_their_reason_and_are_retried_until_they_succeed(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(10)])
    sandbox.faults("omnisend", capacity=6)
    omnisend = connect(hub, sandbox, "omnisend")
    sync_id = create_sync(hub, omnisend, "--mode", "once")
    run = wait_runs(hub, sync_id, 1)
    assert (run["counts"]["sent"], run["counts"]["failed"]) == (6, 4)
    shown = hub.cli("sync", "show", str(sync_id)).stdout
    assert "recent failures" in shown and "limit reached" in shown
    sandbox.faults("omnisend", capacity=None)
    hub.cli("sync", "run", str(sync_id))
    run = wait_runs(hub, sync_id, 2)
    assert (run["counts"]["retried"], run["counts"]["sent"], run["counts"]["failed"]) == (4, 4, 0)
    assert len(sandbox.state("omnisend")["contacts"]) == 10
    assert sync_show(hub, sync_id)["failures"] == []


def test_capacity_too_small_refuses_the_sync_with_needed_and_available(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(12)])
    sandbox.faults("benchmark", capacity=5)
    benchmark = connect(hub, sandbox, "benchmark")
    sync_id = create_sync(hub, benchmark, "--list", "Loyalty members")
    run = wait_runs(hub, sync_id, 1)
    assert run["state"] == "failed" and run["error"] == "capacity: needs 12, has 5"
    assert sync_show(hub, sync_id)["state"] == "error"
    assert sandbox.state("benchmark")["contacts"] == []


def test_bad_sync_requests_are_refused_clearly(hub: Daemon, sandbox: Sandbox) -> None:
    klaviyo = connect(hub, sandbox, "klaviyo")
    omnisend = connect(hub, sandbox, "omnisend")
    cases = [
        ((str(klaviyo), "--segment", "all"), "needs --list"),
        ((str(klaviyo), "--segment", "all", "--list", "Nope"), "no list 'Nope'"),
        ((str(omnisend), "--segment", "all", "--list", "x"), "has no lists"),
        ((str(omnisend), "--segment", "all", "--tags", "a, b"), "no spaces"),
        ((str(omnisend), "--segment", "all", "--map", "shoe_size=size"), "unknown store field"),
        (("99", "--segment", "all"), "no integration 99"),
    ]
    for args, words in cases:
        result = hub.cli("sync", "create", *args, check=False)
        assert result.returncode == 1 and words in result.stderr, (args, result.stderr)
    # The shape of a date is the CLI's to check: a usage error (exit 2), before any request.
    result = hub.cli(
        "sync", "create", str(omnisend), "--segment", "all", "--acquired-since", "soon", check=False
    )
    assert result.returncode == 2 and "a date like 2026-01-31" in result.stderr
    assert hub.api("/v1/syncs")["syncs"] == []


def test_a_down_provider_does_not_slow_a_sync_to_another(hub: Daemon, sandbox: Sandbox) -> None:
    ingest(hub, "customers", [customer(i) for i in range(20)])
    omnisend = connect(hub, sandbox, "omnisend")
    klaviyo = connect(hub, sandbox, "klaviyo")
    sandbox.faults("omnisend", latency_ms=3000)  # every call times out (provider_timeout 1 s)
    slow = create_sync(hub, omnisend)
    fast = create_sync(hub, klaviyo, "--list", "Newsletter")
    started = time.monotonic()
    run = wait_runs(hub, fast, 1, timeout=10)
    assert run["counts"]["sent"] == 20 and time.monotonic() - started < 5
    assert sync_show(hub, slow)["runs"][0]["state"] == "running"
    slow_run = wait_runs(hub, slow, 1, timeout=30)
    assert slow_run["state"] == "failed" and "provider unavailable" in slow_run["error"]


def test_progress_follow_draws_a_bar_to_the_end(hub: Daemon, sandbox: Sandbox) -> None:
    ingest(hub, "customers", [customer(i) for i in range(3000)])
    omnisend = connect(hub, sandbox, "omnisend")
    sandbox.faults("omnisend", latency_ms=300)  # three batches: a few seconds to watch
    sync_id = create_sync(hub, omnisend, "--mode", "once")
    follower = hub.cli("sync", "progress", str(sync_id), "--follow", timeout=60)
    lines = follower.stdout.splitlines()
    assert lines[0].startswith("[") and "sent 1000" in follower.stdout
    assert lines[-1].startswith("[##############################] 100%") and "done" in lines[-1]


def kill_rng() -> random.Random:
    """Where a test kills the daemon, drawn from a seed that is printed (pytest shows it
    with a failure): PATCHBAY_KILL_SEED=<that seed> replays the same kill point."""
    seed = int(os.environ.get("PATCHBAY_KILL_SEED") or random.SystemRandom().randrange(10**9))
    print(f"PATCHBAY_KILL_SEED={seed}")
    return random.Random(seed)


@pytest.fixture
def slow_hub(workdir: Path, sandbox: Sandbox, database_url: str | None) -> Iterator[Daemon]:
    d = Daemon(workdir, config_text=sandbox_config(sandbox.url), database_url=database_url)
    d.start()
    yield d
    d.kill()


def test_a_sync_killed_at_a_random_moment_resumes_without_loss(
    slow_hub: Daemon, sandbox: Sandbox
) -> None:
    hub = slow_hub
    total = 6000
    ingest(hub, "customers", [customer(i) for i in range(total)])
    omnisend = connect(hub, sandbox, "omnisend")
    sandbox.faults("omnisend", latency_ms=150)
    sync_id = create_sync(hub, omnisend, "--mode", "once")
    kill_after = 1000 * kill_rng().randint(1, 4)  # batches the provider took, of 6
    wait(lambda: batch_items(sandbox) >= kill_after)  # the next one is on its way
    hub.kill()  # SIGKILL: no goodbye, no checkpoint beyond what was committed
    acknowledged = batch_items(sandbox)
    assert acknowledged < total, "the run finished before the kill; slow the sandbox down"
    sandbox.faults("omnisend", latency_ms=0)
    hub.start()
    run = wait_runs(hub, sync_id, 1, timeout=60)
    assert run["state"] == "done"
    emails = [c["email"] for c in sandbox.state("omnisend")["contacts"]]
    assert sorted(emails) == sorted(f"member{i}@example.com" for i in range(total))
    # Only a batch the provider acknowledged in the instant before the kill may go twice.
    assert batch_items(sandbox) <= total + 1000
    assert sync_show(hub, sync_id)["sent"] == total


def order(i: int, status: str = "paid") -> dict[str, Any]:
    return {
        "id": f"o{i:04d}",
        "customer_id": f"c{i % 5:05d}",
        "email": f"member{i % 5}@example.com",
        "status": status,
        "total": f"{i}.50",
        "currency": "EUR",
        "created_at": f"2026-11-{1 + i % 20:02d}T10:00:00Z",
        "items": [{"sku": f"S{i}", "name": "Tea", "quantity": 1, "price": f"{i}.50"}],
    }


def ledger(hub: Daemon, integration: int) -> dict[str, int]:
    found: dict[str, int] = hub.api(f"/v1/integrations/{integration}/orders")["ledger"]
    return found


def events_sent(sandbox: Sandbox) -> int:
    return int(sandbox.state("omnisend")["requests"].get("POST /v5/events", 0))


def test_orders_are_exported_exactly_once_even_when_run_twice(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(5)])
    ingest(
        hub,
        "orders",
        [order(i) for i in range(30)] + [order(90, "pending"), order(91, "cancelled")],
    )
    omnisend = connect(hub, sandbox, "omnisend")
    first = json.loads(
        hub.cli("orders", "export", str(omnisend), "--mode", "once", "--wait", "--json").stdout
    )
    assert first["sent"] == 30 and ledger(hub, omnisend) == {"sent": 30}
    again = json.loads(hub.cli("orders", "export", str(omnisend), "--wait", "--json").stdout)
    assert again["sent"] == 0 and again["total"] == 0
    assert events_sent(sandbox) == 30  # nothing went out the second time
    placed = [e for e in sandbox.state("omnisend")["events"] if e["eventName"] == "Placed Order"]
    assert sorted(e["properties"]["order_id"] for e in placed) == [f"o{i:04d}" for i in range(30)]
    # --mode active (the second export): new paid orders follow by themselves.
    ingest(hub, "orders", [order(31)])
    wait(lambda: events_sent(sandbox) == 31, timeout=10)


def test_orders_survive_a_kill_half_way_exactly_once(slow_hub: Daemon, sandbox: Sandbox) -> None:
    hub = slow_hub
    ingest(hub, "customers", [customer(i) for i in range(5)])
    ingest(hub, "orders", [order(i) for i in range(40)])
    omnisend = connect(hub, sandbox, "omnisend")
    sandbox.faults("omnisend", latency_ms=60)
    exporter = subprocess.Popen(
        [PATCHBAY, "orders", "export", str(omnisend), "--mode", "once"],
        env=hub.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_after = kill_rng().randint(5, 30)  # order requests the provider has seen, of 40
    wait(lambda: events_sent(sandbox) >= kill_after)  # up to IN_FLIGHT more on their way
    hub.kill()
    exporter.wait(10)
    assert events_sent(sandbox) < 40
    sandbox.faults("omnisend", latency_ms=0)
    hub.start()  # the export resumes by itself; asking again follows that one
    hub.cli("orders", "export", str(omnisend), "--mode", "once", "--wait")
    placed = [e["properties"]["order_id"] for e in sandbox.state("omnisend")["events"]]
    assert sorted(placed) == [f"o{i:04d}" for i in range(40)]  # each exactly once
    # At most the ones in flight at the kill went twice (the provider deduped them).
    assert events_sent(sandbox) <= 40 + IN_FLIGHT


def test_an_interrupted_send_to_a_provider_without_dedupe_is_held_in_doubt(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(5)])
    ingest(hub, "orders", [order(i) for i in range(3)])
    salesmanago = connect(
        hub,
        sandbox,
        "salesmanago",
        "sandbox-secret",
        "--client-id",
        "c1",
        "--owner",
        "owner@example.com",
    )
    hub.stop()
    hub.execute(  # as if killed mid-send
        "INSERT INTO order_exports (integration_id, order_id, state, reason, attempts,"
        " updated_at) VALUES (?, 'o0001', 'sending', NULL, 1, 'x')",
        (salesmanago,),
    )
    hub.start()
    # The contacts must exist at SALESmanago for purchases to attach to them.
    sync_id = create_sync(hub, salesmanago, "--mode", "once")
    wait_runs(hub, sync_id, 1)
    result = hub.cli("orders", "export", str(salesmanago), "--mode", "once", "--wait", check=False)
    assert result.returncode == 0, result.stderr
    assert "in doubt 1" in result.stdout
    assert "order o0001: in_doubt" in hub.cli("orders", "status", str(salesmanago)).stdout
    events = sandbox.state("salesmanago")["events"]
    assert sorted(e["externalId"] for e in events) == ["o0000", "o0002"]
    assert {e["contactExtEventType"] for e in events} == {"PURCHASE"}


def test_disconnecting_during_a_slow_export_does_not_stop_the_daemon(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(5)])
    ingest(hub, "orders", [order(i) for i in range(5)])
    omnisend = connect(hub, sandbox, "omnisend")
    sandbox.faults("omnisend", latency_ms=800)
    exporter = subprocess.Popen(
        [PATCHBAY, "orders", "export", str(omnisend), "--mode", "once"],
        env=hub.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait(lambda: sandbox.state("omnisend")["requests"].get("POST /v5/events", 0) >= 1)
    hub.cli("integrations", "disconnect", str(omnisend), "--yes")
    exporter.communicate(timeout=30)
    assert hub.status()["state"] == "running"  # the cancelled call did not take it down
    assert hub.proc is not None and hub.proc.poll() is None
    assert "background task failed" not in hub.stderr()


def test_a_second_order_brings_a_customer_into_the_returning_segment(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(3)])
    ingest(hub, "orders", [order(0), order(5)])  # customer 0 has two orders already
    omnisend = connect(hub, sandbox, "omnisend")
    result = hub.cli("sync", "create", str(omnisend), "--segment", "returning", "--json")
    sync_id = int(json.loads(result.stdout)["id"])
    wait_runs(hub, sync_id, 1)
    assert [c["email"] for c in sandbox.state("omnisend")["contacts"]] == ["member0@example.com"]
    ingest(hub, "orders", [order(1), order(6)])  # customer 1 returns
    wait(lambda: len(sandbox.state("omnisend")["contacts"]) == 2)


def test_a_send_that_timed_out_at_a_provider_without_dedupe_is_held_in_doubt(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "customers", [customer(i) for i in range(5)])
    ingest(hub, "orders", [order(i) for i in range(2)])
    salesmanago = connect(
        hub,
        sandbox,
        "salesmanago",
        "sandbox-secret",
        "--client-id",
        "c1",
        "--owner",
        "owner@example.com",
    )
    sync_id = create_sync(hub, salesmanago, "--mode", "once")
    wait_runs(hub, sync_id, 1)
    sandbox.faults("salesmanago", latency_ms=1500)  # past the 1 s provider_timeout
    first = json.loads(
        hub.cli(
            "orders", "export", str(salesmanago), "--mode", "once", "--wait", "--json", check=False
        ).stdout
    )
    assert first["in_doubt"] == 2 and first["sent"] == 0
    sandbox.faults("salesmanago", latency_ms=0)
    again = json.loads(
        hub.cli("orders", "export", str(salesmanago), "--mode", "once", "--wait", "--json").stdout
    )
    assert again["sent"] == 0 and ledger(hub, salesmanago) == {"in_doubt": 2}
    # Both deliveries are dead (in doubt) and nothing is pending or retrying: an order in
    # doubt waits for a human, not a timer, so no resend can come later. The sandbox
    # counts a request on arrival: the two timed-out ones are all there will ever be.
    deliveries = hub.api(f"/v1/deliveries?route=0&integration={salesmanago}")["deliveries"]
    assert sorted(d["status"] for d in deliveries) == ["dead", "dead"]
    assert hub.counts()["outbox_open"] == 0
    assert len(sandbox.state("salesmanago")["events"]) <= 2
    assert (
        sandbox.state("salesmanago")["requests"].get("POST /api/v2/contact/addContactExtEvent", 0)
        == 2
    )


def test_a_slow_provider_does_not_hold_up_another_integrations_orders(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """Order feeds run per integration: each of Omnisend's sends takes almost its whole
    timeout (30 orders, 27 s) while Klaviyo's feed of the same store goes on at full
    rate. Before, the feeds ran one after another and Klaviyo waited for all of them."""
    ingest(hub, "customers", [customer(i) for i in range(5)])
    omnisend = connect(hub, sandbox, "omnisend", "sandbox-key", "--rate-limit", "none")
    klaviyo = connect(hub, sandbox, "klaviyo", "sandbox-key", "--rate-limit", "none")
    for integration in (omnisend, klaviyo):
        hub.cli("orders", "export", str(integration), "--mode", "active")
    sandbox.faults("omnisend", latency_ms=900)  # the hub's provider timeout is 1 s
    ingest(hub, "orders", [order(i) for i in range(30)])
    wait(lambda: len(sandbox.state("klaviyo")["events"]) == 30, timeout=10)
    assert len(sandbox.state("omnisend")["events"]) < 30


def test_an_order_for_an_address_a_sync_would_filter_is_never_sent(
    hub: Daemon, sandbox: Sandbox
) -> None:
    ingest(hub, "orders", [order(1), {**order(2), "email": "info@example.com"}])
    omnisend = connect(hub, sandbox, "omnisend", "sandbox-key", "--rate-limit", "none")
    report = json.loads(
        hub.cli("orders", "export", str(omnisend), "--mode", "once", "--wait", "--json").stdout
    )
    assert report["sent"] == 1 and ledger(hub, omnisend) == {"sent": 1, "ineligible": 1}
    placed = [e["properties"]["order_id"] for e in sandbox.state("omnisend")["events"]]
    assert placed == ["o0001"]
    [dead] = hub.api("/v1/deliveries?status=dead")["deliveries"]
    assert "role address" in dead["last_error"] and dead["attempts"] == 0
    again = json.loads(hub.cli("orders", "export", str(omnisend), "--wait", "--json").stdout)
    assert again["sent"] == 0 and len(sandbox.state("omnisend")["events"]) == 1
