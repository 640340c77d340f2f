"""Durable ingest: accepted requests/s and latency of POST /ingest (each answered only
after its row is committed), against a bare Starlette endpoint that stores nothing, with
a load generator in its own process on loopback, in the same run.

    python -m pytest -m bench -s tests/bench/test_ingest.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import Daemon

SECONDS = float(os.environ.get("PATCHBAY_BENCH_SECONDS", "10"))
CONNECTIONS = 32

pytestmark = pytest.mark.bench


def load(url: str) -> dict[str, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.loadgen",
            url,
            "--seconds",
            str(SECONDS),
            "--connections",
            str(CONNECTIONS),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=SECONDS + 60,
    )
    return dict(json.loads(result.stdout))


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Peak RSS of a process (VmHWM), or another /proc status figure such as VmRSS."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_durable_ingest_against_a_bare_endpoint(workdir) -> None:
    daemon = Daemon(workdir).start()
    try:
        ours = load(daemon.url("/ingest/demo/customers"))
        rss = peak_rss_mb(daemon.proc.pid)  # type: ignore[union-attr]
        stored = daemon.counts()
    finally:
        daemon.kill()
    bare = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bare_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(bare.stdout.readline())  # type: ignore[union-attr]
        baseline = load(f"http://127.0.0.1:{port}/ingest/demo/customers")
    finally:
        bare.kill()
    print(f"\n{CONNECTIONS} connections, {SECONDS:g} s each, loopback")
    for name, r in (("patchbayd (durable)", ours), ("bare Starlette", baseline)):
        print(
            f"  {name:20} {r['per_second']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
            f"p99 {r['p99_ms']:6.1f} ms  non-2xx {r['other']:.0f}"
        )
    print(
        f"  patchbayd peak RSS {rss:.0f} MB; {stored['customers']} customers stored, "
        f"{stored['inbox_pending']} still in the inbox"
    )
    assert ours["other"] == 0
