from __future__ import annotations

import subprocess

from tests.support import PATCHBAY


def test_demo_without_a_terminal_runs_headless_and_exits_0() -> None:
    result = subprocess.run([PATCHBAY, "demo"], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "daemon ready" in result.stdout
    assert "running" in result.stdout
    assert "patchbayd stopped" in result.stderr  # the daemon was stopped cleanly afterwards
