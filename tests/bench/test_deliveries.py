"""Route deliveries: events accepted -> delivered at the sandbox, each figure beside a
baseline measured in the same run.

- throughput with no rate limit, against the sandbox's own rate for the same requests
  sent straight at it by a plain client (8 at a time, the outbox's per-integration width);
- the share of a 400/min limit used (the sandbox enforces it) and the 429s seen;
- accepted -> delivered latency when idle (p50, p99);
- with another provider down, the healthy one's throughput against its rate with that
  provider up (the same routes and events: the failing provider is the only difference).

    python -m pytest -m bench -s tests/bench/test_deliveries.py
    PATCHBAY_BENCH_SECONDS=60 ...   # the rate-limited run's length (default 30 s)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import Daemon, Sandbox, sandbox_config, short_tmpdir, wait

EVENTS = 2000
SECONDS = float(os.environ.get("PATCHBAY_BENCH_SECONDS", "30"))
LIMIT = 400
ROUTE = """
[[route]]
name = "{provider}"
provider = "{provider}"
trigger = "bench.ping"
[[route.actions]]
type = "track_event"
name = "bench ping"
[route.actions.properties]
n = "{{{{ data.n }}}}"
"""

pytestmark = pytest.mark.bench


class Rig:
    """A sandbox and a daemon with the given providers connected to the push store."""

    def __init__(self, providers: dict[str, str]) -> None:
        self.sandbox = Sandbox()
        self.daemon = Daemon(
            short_tmpdir(),
            config_text=sandbox_config(
                self.sandbox.url, daemon='log_level = "warning"\nprovider_timeout = "2s"'
            ).replace('log_level = "debug"\n', ""),
        )
        self.daemon.start()
        key = self.daemon.directory / "key"
        key.write_text("sandbox-bench")
        for provider, limit in providers.items():
            self.daemon.cli(
                "integrations",
                "connect",
                provider,
                "--store",
                "demo",
                "--api-key-file",
                str(key),
                "--base-url",
                f"{self.sandbox.url}/{provider}",
                "--rate-limit",
                limit,
            )
            path = self.daemon.directory / f"{provider}.toml"
            path.write_text(ROUTE.format(provider=provider))
            self.daemon.cli("routes", "import", str(path))

    def push(self, first: int, count: int) -> None:
        for start in range(first, first + count, 500):
            items = [
                {
                    "id": f"b{i}",
                    "type": "bench.ping",
                    "occurred_at": "2026-11-22T10:00:00Z",
                    "customer": {"id": f"c{i}", "email": f"p{i}@example.com"},
                    "data": {"n": i},
                }
                for i in range(start, min(first + count, start + 500))
            ]
            answer = httpx.post(
                self.daemon.url("/ingest/demo/events"),
                json={"items": items},
                headers={"Authorization": "Bearer demo-token"},
                timeout=60,
            )
            assert answer.status_code == 202, answer.text

    def delivered(self, integration: int | None = None) -> list[dict[str, Any]]:
        """The newest delivered (the API lists at most 1,000)."""
        query = f"&integration={integration}" if integration else ""
        return list(
            self.daemon.api(f"/v1/deliveries?status=delivered&limit=1000{query}")["deliveries"]
        )

    def arrived(self, provider: str) -> int:
        """Events the provider holds (each once: the sandbox dedupes by event id)."""
        return len(self.sandbox.state(provider)["events"])

    def close(self) -> None:
        self.daemon.kill()
        self.sandbox.close()


@pytest.fixture
def rigs() -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.close()


async def straight_at_the_sandbox(url: str, count: int) -> float:
    """The baseline: the same event requests, 8 at a time, with nothing in between."""
    async with httpx.AsyncClient(
        base_url=f"{url}/omnisend", timeout=30, headers={"X-API-KEY": "sandbox-bench"}
    ) as client:
        queue = iter(range(count))

        async def worker() -> None:
            for i in queue:
                answer = await client.post(
                    "/v5/events",
                    json={
                        "eventName": "bench ping",
                        "eventID": f"x{i}",
                        "eventTime": "2026-11-22T10:00:00Z",
                        "origin": "api",
                        "contact": {"email": f"p{i}@example.com"},
                        "properties": {"n": i},
                    },
                )
                assert answer.status_code == 202

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(8)))
        return count / (time.monotonic() - started)


def test_deliveries_throughput_rate_limit_latency_and_isolation(rigs: list[Rig]) -> None:
    print()
    # 1. Throughput with no rate limit, against the sandbox alone.
    rig = Rig({"omnisend": "none"})
    rigs.append(rig)
    started = time.monotonic()
    rig.push(0, EVENTS)
    wait(lambda: rig.arrived("omnisend") == EVENTS, timeout=600)
    ours = EVENTS / (time.monotonic() - started)
    alone = asyncio.run(straight_at_the_sandbox(rig.sandbox.url, EVENTS))
    print(
        f"no rate limit, {EVENTS} events: {ours:7.0f} deliveries/s accepted -> delivered; "
        f"sandbox alone {alone:7.0f} requests/s (ratio {ours / alone:.2f})"
    )

    # 2. Idle latency: one event at a time, accepted (202) -> delivered (its row's time).
    sent: dict[str, float] = {}
    before = rig.arrived("omnisend")  # the baseline's requests landed there too
    for i in range(EVENTS, EVENTS + 100):
        rig.push(i, 1)
        sent[f"demo:b{i}"] = time.time()
        time.sleep(0.03)
    wait(lambda: rig.arrived("omnisend") == before + 100)
    latencies = sorted(
        (
            datetime.fromisoformat(d["delivered_at"].replace("Z", "+00:00")).timestamp()
            - sent[d["event_id"]]
        )
        * 1000
        for d in rig.delivered()
        if d["event_id"] in sent
    )
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"idle, 100 events one by one: accepted -> delivered p50 {p50:5.0f} ms, "
        f"p99 {p99:5.0f} ms (goal p99 < 1000 ms)"
    )

    # 3. A 400/min limit, enforced by the sandbox: the share used, and the 429s.
    limited = Rig({"omnisend": f"{LIMIT}/min"})
    rigs.append(limited)
    limited.sandbox.faults("omnisend", rate_limit_per_min=LIMIT)
    limited.push(0, int(LIMIT * SECONDS / 60) + 200)  # more than the window can take
    time.sleep(SECONDS)
    state = limited.sandbox.state("omnisend")
    done = len(state["events"])
    # Every request is counted, throttled ones too: the 429s are the ones not accepted.
    throttled = state["requests"].get("POST /v5/events", 0) - len(state["events"])
    allowed = LIMIT * SECONDS / 60
    print(
        f"{LIMIT}/min for {SECONDS:g} s: {done} delivered = {done / allowed:6.1%} of the "
        f"limit (goal >= 95 %), {throttled} x 429"
    )

    # 4. One provider down: the healthy one's rate against its rate alone (step 1's rig).
    both = Rig({"omnisend": "none", "klaviyo": "none"})
    rigs.append(both)
    both.sandbox.faults("omnisend", down=True)
    started = time.monotonic()
    both.push(0, EVENTS)
    wait(lambda: both.arrived("klaviyo") == EVENTS, timeout=600)
    healthy = EVENTS / (time.monotonic() - started)
    # The baseline: the same two routes and events with Omnisend up, so the only
    # difference is the failing provider (not half the deliveries to plan and record).
    up = Rig({"omnisend": "none", "klaviyo": "none"})
    rigs.append(up)
    started = time.monotonic()
    up.push(0, EVENTS)
    wait(lambda: up.arrived("klaviyo") == EVENTS, timeout=600)
    up_rate = EVENTS / (time.monotonic() - started)
    print(
        f"klaviyo with omnisend down: {healthy:7.0f} deliveries/s; with omnisend up "
        f"{up_rate:7.0f}/s ({healthy / up_rate:.0%} of it, goal >= 90 %)"
    )
