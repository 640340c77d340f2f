"""A bulk import of new subscribed customers into a store with an active sync: the
requests it costs at the provider when opt-ins an active sync carries are left to its
batches, against the baseline in the same run where they are not (a sync on the `new`
segment, which the consent engine does not coalesce with: every opt-in also goes out as
a single write, which is how every import went before). Each request counts against
Omnisend's 400/min, so the figure that matters is minutes of the provider's limit.

    python -m pytest -m bench -s tests/bench/test_coalescing.py
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support import Daemon, Sandbox, sandbox_config, short_tmpdir, wait

CUSTOMERS = 3000
LIMIT = 400

pytestmark = pytest.mark.bench


def bulk_import(segment: str) -> dict[str, int]:
    sandbox = Sandbox()
    daemon = Daemon(
        short_tmpdir(),
        config_text=sandbox_config(sandbox.url, daemon='provider_timeout = "5s"').replace(
            'log_level = "debug"', 'log_level = "warning"'
        ),
    )
    try:
        daemon.start()
        key = daemon.directory / "key"
        key.write_text("sandbox-bench")
        made = daemon.cli(
            "integrations",
            "connect",
            "omnisend",
            "--store",
            "demo",
            "--api-key-file",
            str(key),
            "--base-url",
            f"{sandbox.url}/omnisend",
            "--rate-limit",
            "none",
            "--json",
        )
        integration = json.loads(made.stdout)["id"]
        daemon.cli("sync", "create", str(integration), "--segment", segment, "--mode", "active")
        for start in range(0, CUSTOMERS, 1000):
            items = [
                {
                    "id": f"c{i}",
                    "email": f"new{i}@example.com",
                    "created_at": "2026-11-25T10:00:00Z",
                    "updated_at": "2026-11-25T10:00:00Z",
                    "email_consent": {"state": "subscribed", "updated_at": "2026-11-25T10:00:00Z"},
                }
                for i in range(start, start + 1000)
            ]
            httpx.post(
                daemon.url("/ingest/demo/customers"),
                json={"items": items},
                headers={"Authorization": "Bearer demo-token"},
                timeout=60,
            ).raise_for_status()

        def settled() -> bool:
            contacts = sandbox.state("omnisend")["contacts"]
            last = daemon.api(f"/v1/consent/new{CUSTOMERS - 1}@example.com/history")
            return (
                len(contacts) == CUSTOMERS
                and bool(last["history"])  # all decided
                and daemon.counts()["outbox_open"] == 0
                and all(
                    c["identifiers"][0]["channels"]["email"]["status"] == "subscribed"
                    for c in contacts
                )
            )

        wait(settled, timeout=600)
        requests = sandbox.state("omnisend")["requests"]
        return {
            "single": requests.get("POST /v3/contacts", 0),
            "batches": requests.get("POST /v3/batches", 0),
            "all": sum(requests.values()),
        }
    finally:
        daemon.kill()
        sandbox.close()


def test_requests_a_bulk_import_of_new_subscribers_costs() -> None:
    carried = bulk_import("subscribers")
    baseline = bulk_import("new")
    print(f"\nbulk import of {CUSTOMERS} new subscribed customers, active sync to Omnisend")
    for name, r in (
        ("opt-ins carried by the sync", carried),
        ("baseline: every opt-in single", baseline),
    ):
        print(
            f"  {name:30} {r['all']:6} requests ({r['single']} single contact writes, "
            f"{r['batches']} batches) = {r['all'] / LIMIT:5.1f} min of a {LIMIT}/min limit"
        )
    assert carried["single"] == 0
