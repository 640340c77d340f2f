"""The store view (t), against the fake daemon: a row per store from GET /v1/stores, what
needs a look said first, and the highlighted store's detail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import DataTable, Static

from patchbay.tui.app import PatchbayApp
from patchbay.tui.screens.stores import StoresScreen
from tests.console.fake import EVENTS, SOCKET, STORES, FakeDaemon, installation
from tests.console.pilot import until

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 22, 10, 6, tzinfo=UTC)


def shown(app: PatchbayApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_the_store_view_lists_stores_and_says_which_need_a_look() -> None:
    daemon = FakeDaemon(installation(), EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("t")
        assert isinstance(app.screen, StoresScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 3)
        assert ("GET", "/v1/stores", {}) in daemon.requests
        assert [str(c) for c in table.get_row_at(1)] == [
            "loyalty (push)",
            "ok",
            "25m 0s ago",
            "840",
            "0",
            "0",
            "2",
        ]
        assert "needs a look: loyalty, outlet" in shown(app, "#message")
        assert "import saved 29s ago" in shown(app, "#detail")
        await pilot.press("down", "down")
        detail = shown(app, "#detail")
        assert "outlet: error — store unreachable: connection refused" in detail
        assert "nothing came in yet" in detail


async def test_all_healthy_says_so() -> None:
    answers = installation()
    answers["GET /v1/stores"] = {"stores": [{**STORES["stores"][0], "pending": 0}]}
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("t")
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        assert "every store healthy" in shown(app, "#message")
