"""The console against the real daemon, driven by Textual's pilot."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from patchbay.tui.app import PatchbayApp
from patchbay.tui.widgets.log_pane import LogPane
from patchbay.tui.widgets.status_panel import StatusPanel
from tests.support import Daemon

pytestmark = pytest.mark.anyio


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


def panel_text(app: PatchbayApp) -> str:
    return str(app.query_one(StatusPanel).render())


async def test_console_shows_status_and_log_then_reconnects(daemon: Daemon) -> None:
    app = PatchbayApp(daemon.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected and "running" in panel_text(app))
        log = app.query_one(LogPane)
        await until(pilot, lambda: any(e["message"] == "patchbayd ready" for e in log.events))

        daemon.stop()
        await until(pilot, lambda: not app.connected and "disconnected" in panel_text(app))

        daemon.start()
        await until(pilot, lambda: app.connected and "running" in panel_text(app))
        # The backlog is not shown twice after reconnecting: only events after the last seen.
        await until(pilot, lambda: [e["message"] for e in log.events].count("patchbayd ready") == 2)
        ids = [e["id"] for e in log.events]
        assert ids == sorted(set(ids))

        await pilot.press("l")
        assert log.min_level == "info"
        await pilot.press("q")
    assert app.return_code == 0 or app.return_code is None


def test_disconnected_console_snapshot(snap_compare: Callable[..., bool]) -> None:
    app = PatchbayApp(Path("/nonexistent/patchbay.sock"), reconnect_delay=60)

    async def settle(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: "no socket there" in panel_text(app))

    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
