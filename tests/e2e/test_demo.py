from __future__ import annotations

import signal
import socket
import subprocess

import httpx
import pytest

from tests.support import PATCHBAY


def test_demo_without_a_terminal_runs_headless_and_exits_0() -> None:
    result = subprocess.run(
        [PATCHBAY, "demo"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_patchbay_sandbox_runs_the_sandbox_as_a_child_and_stops_it(signum: int) -> None:
    proc = subprocess.Popen(
        [PATCHBAY, "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line
        url = line.strip().rsplit(" ", 1)[-1]
        assert httpx.post(f"{url}/_sandbox/reset", timeout=10).status_code == 200
        proc.send_signal(signum)  # as from systemd or kill; Ctrl-C reaches the child too
        assert proc.wait(20) == 0
        with pytest.raises(httpx.ConnectError):  # the child is gone with it
            httpx.post(f"{url}/_sandbox/reset", timeout=2)
    finally:
        proc.kill()
        proc.wait()


def test_patchbay_sandbox_passes_on_the_childs_failure() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(
            [PATCHBAY, "sandbox", "--port", str(taken.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 1 and "sandbox:" in result.stderr, result.stderr
