"""Order exports run in the daemon's background: the real daemon, CLI and sandbox, with the
provider slowed so an export takes longer than the CLI's own timeout. The request is
answered at once, `--wait` follows it to its end, asking again while it runs returns the
same export, Ctrl-C stops only the following, a provider that is down fails the export
with one clear line, and every order reaches the provider exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from patchbayd.engine.outbox import IN_FLIGHT
from tests.e2e.test_sync import connect, customer, events_sent, ingest, order
from tests.postgres import BACKENDS, database_for
from tests.support import PATCHBAY, Daemon, Sandbox, wait


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here runs on SQLite and on PostgreSQL."""
    yield from database_for(request.param)


FAST_CLIENT = {"PATCHBAY_TIMEOUT": "1"}  # the export takes several times this
ORDERS = 60  # 5 contacts, one order in flight per contact: 12 rounds of the latency


def slow_shop(hub: Daemon, sandbox: Sandbox, latency_ms: int = 500) -> int:
    ingest(hub, "customers", [customer(i) for i in range(5)])
    ingest(hub, "orders", [order(i) for i in range(ORDERS)])
    omnisend = connect(hub, sandbox, "omnisend", "sandbox-key", "--rate-limit", "none")
    sandbox.faults("omnisend", latency_ms=latency_ms)
    return omnisend


def export(hub: Daemon, integration: int, *args: str, check: bool = True) -> Any:
    result = hub.cli(
        "orders", "export", str(integration), "--mode", "once", *args, "--json",
        check=check, env_extra=FAST_CLIENT,
    )  # fmt: skip
    return json.loads(result.stdout)


def placed(sandbox: Sandbox) -> list[str]:
    return sorted(e["properties"]["order_id"] for e in sandbox.state("omnisend")["events"])


def test_a_long_export_is_answered_at_once_and_followed_to_its_end(
    hub: Daemon, sandbox: Sandbox
) -> None:
    omnisend = slow_shop(hub, sandbox)
    started = export(hub, omnisend)  # within the 1 s client timeout, or this exits 1
    assert started["state"] == "running" and started["already_running"] is False
    assert started["integration"] == omnisend and started["finished_at"] is None
    assert events_sent(sandbox) < ORDERS
    again = export(hub, omnisend)  # while it runs: the same export, no second one
    assert again["already_running"] is True and again["id"] == started["id"]
    followed = hub.cli(
        "orders", "export", str(omnisend), "--wait", env_extra=FAST_CLIENT, timeout=60
    )
    lines = followed.stdout.splitlines()
    assert lines[0].startswith(f"order export {started['id']} of integration {omnisend}")
    assert "already running" in lines[0]
    bars = [line for line in lines if line.startswith("[")]  # not a tty: plain lines
    assert bars and all("%" in line for line in bars)
    assert f"order export {started['id']} of integration {omnisend}: done" in followed.stdout
    status = json.loads(hub.cli("orders", "status", str(omnisend), "--json").stdout)
    assert status["ledger"] == {"sent": ORDERS}
    final = status["export"]
    assert (final["id"], final["state"], final["total"]) == (started["id"], "done", ORDERS)
    assert (final["sent"], final["failed"], final["in_doubt"], final["waiting"]) == (
        ORDERS,
        0,
        0,
        0,
    )
    assert final["finished_at"] and final["error"] is None
    # The console's orders view reads every integration's report in one answer.
    everything = hub.api("/v1/orders")["integrations"]
    mine = next(r for r in everything if r["integration"] == omnisend)
    assert mine["provider"] == "omnisend" and mine["ledger"] == {"sent": ORDERS}
    assert mine["export"]["id"] == started["id"] and mine["problems"] == []
    # Each order exactly once: one request per order reached the provider.
    assert placed(sandbox) == [f"o{i:04d}" for i in range(ORDERS)]
    assert events_sent(sandbox) == ORDERS
    # A new request now starts a new export, which finds nothing left to send.
    sandbox.faults("omnisend", latency_ms=0)
    later = export(hub, omnisend, "--wait")
    assert later["id"] == started["id"] + 1
    assert (later["state"], later["total"], later["sent"]) == ("done", 0, 0)
    assert events_sent(sandbox) == ORDERS


def test_wait_with_json_prints_the_final_state_only(hub: Daemon, sandbox: Sandbox) -> None:
    omnisend = slow_shop(hub, sandbox, latency_ms=200)
    result = hub.cli(
        "orders", "export", str(omnisend), "--mode", "active", "--wait", "--json",
        env_extra=FAST_CLIENT, timeout=60,
    )  # fmt: skip
    final = json.loads(result.stdout)  # one document: the export as it ended
    assert (final["state"], final["mode"], final["sent"], final["total"]) == (
        "done",
        "active",
        ORDERS,
        ORDERS,
    )
    assert final == hub.api(f"/v1/integrations/{omnisend}/orders/export?export={final['id']}")


def test_ctrl_c_stops_following_not_the_export(hub: Daemon, sandbox: Sandbox) -> None:
    omnisend = slow_shop(hub, sandbox)
    follower = subprocess.Popen(
        [PATCHBAY, "orders", "export", str(omnisend), "--mode", "once", "--wait"],
        env={**hub.env(), **FAST_CLIENT},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (`cmd &` without job
        # control) ignores SIGINT, and its children would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert follower.stdout is not None
    while not follower.stdout.readline().startswith("["):  # following: a progress line
        assert follower.poll() is None, "the follower ended before any progress"
    follower.send_signal(signal.SIGINT)
    _, err = follower.communicate(timeout=10)
    assert follower.returncode == 130
    assert "stopped following" in err and "goes on in the daemon" in err
    assert "Traceback" not in err
    running = hub.api(f"/v1/integrations/{omnisend}/orders/export")
    assert running["state"] == "running"
    wait(lambda: hub.api(f"/v1/integrations/{omnisend}/orders/export")["state"] == "done", 60)
    assert placed(sandbox) == [f"o{i:04d}" for i in range(ORDERS)]
    assert events_sent(sandbox) == ORDERS


def test_an_export_cut_off_by_a_stop_resumes_as_the_same_export(
    hub: Daemon, sandbox: Sandbox
) -> None:
    omnisend = slow_shop(hub, sandbox, latency_ms=300)
    started = export(hub, omnisend)
    wait(lambda: events_sent(sandbox) >= 10)
    hub.stop()
    assert events_sent(sandbox) < ORDERS, "the export ended before the stop; slow it down"
    sandbox.faults("omnisend", latency_ms=0)
    hub.start()
    result = hub.cli("orders", "status", str(omnisend), "--follow", "--json", timeout=60)
    final = json.loads(result.stdout)["export"]
    assert (final["id"], final["state"], final["total"], final["sent"]) == (
        started["id"],
        "done",
        ORDERS,
        ORDERS,
    )
    assert placed(sandbox) == [f"o{i:04d}" for i in range(ORDERS)]  # each exactly once
    # Only sends cut off by the stop went twice (Omnisend deduped them by order id).
    assert events_sent(sandbox) <= ORDERS + IN_FLIGHT


def test_an_export_to_a_provider_that_is_down_fails_with_a_clear_line(
    hub: Daemon, sandbox: Sandbox
) -> None:
    omnisend = slow_shop(hub, sandbox, latency_ms=0)
    sandbox.faults("omnisend", down=True)
    result = hub.cli(
        "orders", "export", str(omnisend), "--mode", "once", "--wait",
        check=False, env_extra=FAST_CLIENT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "the provider is not taking orders" in failed[0]
    assert f"--integration {omnisend}" in failed[0]  # where the orders wait
    final = hub.api(f"/v1/integrations/{omnisend}/orders/export")
    assert final["state"] == "failed" and final["sent"] == 0 and final["failed"] >= 1
    assert final["failed"] + final["waiting"] == ORDERS
    # The orders were not lost: with the provider back, the outbox sends each once.
    sandbox.faults("omnisend", down=False)
    later = export(hub, omnisend, "--wait")
    assert later["state"] == "done"
    assert placed(sandbox) == [f"o{i:04d}" for i in range(ORDERS)]


def test_before_any_export_the_status_says_so(hub: Daemon, sandbox: Sandbox) -> None:
    omnisend = connect(hub, sandbox, "omnisend")
    shown = hub.cli("orders", "status", str(omnisend), "--follow")  # nothing to follow
    assert "ledger: empty" in shown.stdout and "no export asked for yet" in shown.stdout
    assert hub.api(f"/v1/integrations/{omnisend}/orders")["export"] is None
    with pytest.raises(httpx.HTTPStatusError) as missing:
        hub.api(f"/v1/integrations/{omnisend}/orders/export")
    assert missing.value.response.status_code == 404
    unknown = hub.cli("orders", "export", "999", check=False)
    assert unknown.returncode == 1 and "999" in unknown.stderr
