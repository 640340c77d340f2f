"""Initial sync of 100,000 customers to a sandbox provider with no rate limit: contacts/s
end to end (create -> every contact acknowledged) and the daemon's peak RSS, beside the
same Omnisend client sending the same contacts pre-built in batches (no database, no
mapping, no diffing) in the same run: the engine's overhead is the difference.

    python -m pytest -m bench -s tests/bench/test_sync_throughput.py
    PATCHBAY_BENCH_CONTACTS=20000 ...   # smaller run
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import httpx
import pytest

from patchbayd.clock import SystemClock
from patchbayd.providers.base import Consent, Contact
from patchbayd.providers.registry import SPECS, build
from tests.bench.test_ingest import peak_rss_mb
from tests.support import Daemon, Sandbox, sandbox_config

CONTACTS = int(os.environ.get("PATCHBAY_BENCH_CONTACTS", "100000"))

pytestmark = pytest.mark.bench


def customers(n: int) -> list[dict]:
    return [
        {
            "id": f"c{i:07d}",
            "email": f"member{i}@example.com",
            "first_name": "M",
            "created_at": "2026-06-01T00:00:00Z",
            "updated_at": "2026-06-01T00:00:00Z",
            "email_consent": {"state": "subscribed", "updated_at": "2026-06-01T00:00:00Z"},
            "member": {"points": i, "tier": "gold"},
        }
        for i in range(n)
    ]


def load(daemon: Daemon, people: list[dict]) -> None:
    """Through the ingest API, then until the inbox is processed."""
    with httpx.Client(timeout=60) as client:
        for start in range(0, len(people), 1000):
            client.post(
                daemon.url("/ingest/demo/customers"),
                json={"items": people[start : start + 1000]},
                headers={"Authorization": "Bearer demo-token"},
            ).raise_for_status()
    while daemon.counts()["inbox_pending"]:
        time.sleep(0.2)


def finished_run(daemon: Daemon) -> dict:
    while True:
        runs = daemon.api("/v1/syncs/1")["runs"]
        if runs and runs[0]["state"] != "running":
            return dict(runs[0])
        time.sleep(0.2)


def test_initial_sync_of_100k_contacts(workdir, sandbox: Sandbox) -> None:
    daemon = Daemon(workdir, config_text=sandbox_config(sandbox.url)).start()
    try:
        people = customers(CONTACTS)
        loaded = time.monotonic()
        load(daemon, people)
        load_seconds = time.monotonic() - loaded
        (workdir / "k").write_text("sandbox-bench")
        daemon.cli(
            "integrations",
            "connect",
            "omnisend",
            "--store",
            "demo",
            "--api-key-file",
            str(workdir / "k"),
            "--base-url",
            f"{sandbox.url}/omnisend",
            "--rate-limit",
            "none",
        )
        started = time.monotonic()
        daemon.cli("sync", "create", "1", "--segment", "all", "--mode", "once")
        counts = finished_run(daemon)["counts"]
        seconds = time.monotonic() - started
        rss = peak_rss_mb(daemon.proc.pid)  # type: ignore[union-attr]
    finally:
        daemon.kill()
    assert counts["sent"] == CONTACTS and counts["failed"] == 0
    assert len(sandbox.state("omnisend")["contacts"]) == CONTACTS

    sandbox.reset()
    prebuilt = [
        Contact(
            email=p["email"],
            first_name="M",
            external_id=p["id"],
            email_consent=Consent("subscribed"),
            properties={"points": 1},
        )
        for p in people
    ]

    async def client_only() -> float:
        provider = build(
            SPECS["omnisend"],
            {"base_url": f"{sandbox.url}/omnisend", "rate_limit": "none"},
            "sandbox-bench",
            SystemClock(),
        )
        began = time.monotonic()
        for start in range(0, CONTACTS, 1000):
            await provider.upsert_contacts(None, prebuilt[start : start + 1000])
        await provider.aclose()
        return time.monotonic() - began

    baseline = asyncio.run(client_only())
    print(f"\ninitial sync of {CONTACTS} contacts to the sandbox's Omnisend (no rate limit)")
    print(f"  ingest of the customers beforehand: {CONTACTS / load_seconds:8.0f} contacts/s")
    print(
        f"  patchbayd sync, end to end:         {CONTACTS / seconds:8.0f} contacts/s "
        f"({seconds:.1f} s), daemon peak RSS {rss:.0f} MB"
    )
    print(
        f"  client only, pre-built batches:     {CONTACTS / baseline:8.0f} contacts/s "
        f"({baseline:.1f} s)"
    )
    print("  run report: " + json.dumps(counts))


def test_share_of_a_400_per_minute_limit_used_by_a_batched_sync(workdir, sandbox: Sandbox) -> None:
    """The same sync against a sandbox limited to 400 requests/min: how much of the limit
    the batched sync really uses (Omnisend batches cost three requests: create, poll,
    items), and how many 429s it provoked."""
    count = int(os.environ.get("PATCHBAY_BENCH_LIMITED", "60000"))
    daemon = Daemon(workdir, config_text=sandbox_config(sandbox.url)).start()
    try:
        load(daemon, customers(count))
        sandbox.faults("omnisend", rate_limit_per_min=400)
        (workdir / "k").write_text("sandbox-bench")
        daemon.cli(
            "integrations",
            "connect",
            "omnisend",
            "--store",
            "demo",
            "--api-key-file",
            str(workdir / "k"),
            "--base-url",
            f"{sandbox.url}/omnisend",
        )
        before = sum(sandbox.state("omnisend")["requests"].values())
        started = time.monotonic()
        daemon.cli("sync", "create", "1", "--segment", "all", "--mode", "once")
        run = finished_run(daemon)
        seconds = time.monotonic() - started
        throttled = daemon.api("/v1/integrations/1")["throttled"]
    finally:
        daemon.kill()
    requests = sum(sandbox.state("omnisend")["requests"].values()) - before
    accepted = requests - throttled
    print(f"\nsync of {count} contacts, sandbox limit 400 requests/min, batches of 1000")
    print(
        f"  {accepted} requests accepted in {seconds:.1f} s = {accepted / seconds * 60:.0f}"
        f"/min ({accepted / (seconds / 60 * 400):.1%} of the limit), {throttled} x 429,"
        f" {count / seconds:.0f} contacts/s"
    )
    assert run["counts"]["sent"] == count
