"""How much of a provider's rate limit the client really uses, and how many 429s it
provokes: our Omnisend client (per-integration limiter, adaptive to the headers) against
a sandbox limited to 400 requests/min, beside a naive baseline in the same run (a plain
httpx loop that only sleeps when told to by a 429's Retry-After).

    python -m pytest -m bench -s tests/bench/test_rate_limit.py
    PATCHBAY_BENCH_SECONDS=30 ...      # shorter run (default: 120 s, the issue's two minutes)
"""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from patchbayd.clock import SystemClock
from patchbayd.providers.base import Contact
from patchbayd.providers.errors import ProviderError
from patchbayd.providers.registry import SPECS, build
from tests.support import Sandbox

LIMIT = 400
WORKERS = 4
SECONDS = float(os.environ.get("PATCHBAY_BENCH_SECONDS", "120"))

pytestmark = [pytest.mark.bench, pytest.mark.anyio]


async def ours(url: str, deadline: float) -> dict[str, float]:
    provider = build(
        SPECS["omnisend"], {"base_url": f"{url}/omnisend"}, "sandbox-bench", SystemClock()
    )
    ok = failed = 0

    async def worker(n: int) -> None:
        nonlocal ok, failed
        i = 0
        while time.monotonic() < deadline:
            i += 1
            try:
                results = await provider.upsert_contacts(
                    None, [Contact(email=f"w{n}-{i}@example.com")]
                )
                ok += results[0].ok
                failed += not results[0].ok
            except ProviderError:
                failed += 1

    await asyncio.gather(*(worker(n) for n in range(WORKERS)))
    throttled = provider.http.limiter.throttled
    await provider.aclose()
    return {"ok": ok, "failed": failed, "throttled": throttled}


async def naive(url: str, deadline: float) -> dict[str, float]:
    ok = failed = throttled = 0
    async with httpx.AsyncClient(
        base_url=f"{url}/omnisend", timeout=10, headers={"X-API-KEY": "sandbox-bench"}
    ) as client:

        async def worker(n: int) -> None:
            nonlocal ok, failed, throttled
            i = 0
            while time.monotonic() < deadline:
                i += 1
                response = await client.post(
                    "/v3/contacts",
                    json={
                        "identifiers": [
                            {
                                "type": "email",
                                "id": f"n{n}-{i}@example.com",
                                "channels": {"email": {"status": "nonSubscribed"}},
                            }
                        ]
                    },
                )
                if response.status_code == 429:
                    throttled += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                elif response.status_code < 300:
                    ok += 1
                else:
                    failed += 1

        await asyncio.gather(*(worker(n) for n in range(WORKERS)))
    return {"ok": ok, "failed": failed, "throttled": throttled}


async def test_share_of_a_400_per_minute_limit_used() -> None:
    sandboxes = [Sandbox(), Sandbox()]
    try:
        for sandbox in sandboxes:
            sandbox.faults("omnisend", rate_limit_per_min=LIMIT)
        deadline = time.monotonic() + SECONDS
        mine, theirs = await asyncio.gather(
            ours(sandboxes[0].url, deadline), naive(sandboxes[1].url, deadline)
        )
    finally:
        for sandbox in sandboxes:
            sandbox.close()
    allowed = LIMIT * SECONDS / 60
    print(f"\nrate limit {LIMIT}/min for {SECONDS:g} s ({WORKERS} concurrent workers each)")
    for name, r in (("patchbay client", mine), ("naive baseline", theirs)):
        print(
            f"  {name:16} {r['ok'] / SECONDS * 60:7.1f} req/min accepted "
            f"({r['ok'] / allowed:6.1%} of the limit), {r['throttled']:5.0f} x 429, "
            f"{r['failed']:.0f} failed"
        )
    assert mine["failed"] == 0
    assert mine["ok"] >= 0.95 * allowed * (1 - 60 / SECONDS / 10)  # edge of the last window
