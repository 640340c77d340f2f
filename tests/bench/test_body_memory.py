"""Memory under large bodies: 64 concurrent authenticated 1 MiB ingest requests, with the
default body budget (16 MiB read and parsed at once) and, as the baseline in the same run,
a budget so large it never binds (the behaviour before the budget existed). Prints peak
RSS and RSS after the burst for both; the unit's MemoryMax= is set from these figures.

    python -m pytest -m bench -s tests/bench/test_body_memory.py
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.bench.test_ingest import peak_rss_mb
from tests.support import BASE_CONFIG, Daemon, short_tmpdir, wait

CONCURRENT = 64
ROUNDS = 2

pytestmark = pytest.mark.bench


def body() -> bytes:
    """Just under 1 MiB: 1,000 customers with padded properties."""
    items = [
        {"id": f"c{i}", "email": f"big{i}@example.com", "properties": {"note": "x" * 950}}
        for i in range(1000)
    ]
    raw = json.dumps({"items": items}).encode()
    assert len(raw) < 1 << 20
    return raw


def burst(budget: str) -> dict[str, float]:
    config = BASE_CONFIG.replace(
        'log_level = "debug"\n', f'log_level = "info"\nbody_memory = "{budget}"\n'
    )
    daemon = Daemon(short_tmpdir(), config_text=config).start()
    raw = body()
    try:
        url = daemon.url("/ingest/demo/customers")
        idle = peak_rss_mb(daemon.proc.pid, "VmRSS")  # type: ignore[union-attr]

        def send(_: int) -> int:
            return httpx.post(
                url,
                content=raw,
                timeout=120,
                headers={"Authorization": "Bearer demo-token", "Content-Type": "application/json"},
            ).status_code

        started = time.monotonic()
        statuses: list[int] = []
        with ThreadPoolExecutor(CONCURRENT) as pool:
            for _ in range(ROUNDS):
                statuses += list(pool.map(send, range(CONCURRENT)))
        elapsed = time.monotonic() - started
        wait(lambda: daemon.counts()["inbox_pending"] == 0, timeout=300)
        pid = daemon.proc.pid  # type: ignore[union-attr]
        return {
            "idle": idle,
            "peak": peak_rss_mb(pid),
            "after": peak_rss_mb(pid, "VmRSS"),
            "seconds": elapsed,
            "accepted": statuses.count(202),
            "other": len(statuses) - statuses.count(202),
        }
    finally:
        daemon.kill()


def test_memory_under_concurrent_large_bodies(workdir: Path) -> None:
    bounded = burst("16MiB")
    unbounded = burst("4096MiB")
    print(f"\n{CONCURRENT} concurrent 1 MiB ingest bodies x {ROUNDS} rounds, loopback")
    for name, r in (("budget 16 MiB", bounded), ("no budget (baseline)", unbounded)):
        print(
            f"  {name:22} peak RSS {r['peak']:6.0f} MB  after {r['after']:6.0f} MB  "
            f"idle {r['idle']:4.0f} MB  {r['seconds']:5.1f} s  "
            f"202 {r['accepted']:.0f}  other {r['other']:.0f}"
        )
    assert bounded["other"] == 0
