from __future__ import annotations

import subprocess

from tests.support import PATCHBAY


def test_demo_without_a_terminal_runs_headless_and_exits_0() -> None:
    result = subprocess.run([PATCHBAY, "demo"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "daemon ready" in out and "running" in out
    for provider in ("omnisend", "klaviyo", "salesmanago", "benchmark", "mailchimp", "webhook"):
        assert f" {provider}: connected" in out, out
    assert "integrations: 8" in out  # six on the shop, two on the loyalty app's store
    assert "customers:    120" in out  # the sandbox shop, read through the Admin API
    assert "sandbox (shopify, ok)" in out
    assert "sync 1: subscribers -> omnisend (active)" in out
    assert "sync 1 run 1 done: scanned" in out and "failed 0" in out
    # The shop's 38 confirmed and paid orders, two of them to role or invalid addresses.
    assert "orders -> klaviyo: 36 sent (active), 2 to addresses a sync would not send" in out
    assert "route 1: wallet_coins_awarded (example)" in out
    assert "4 loyalty events pushed: 4 deliveries delivered" in out
    assert "patchbayd stopped" in result.stderr  # the daemon was stopped cleanly afterwards
