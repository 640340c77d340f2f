"""The orders view (o), against the fake daemon: the ledger per integration, an export
under way with its bar, the problem orders, and e starting an export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from patchbay.client import ApiFailure
from patchbay.tui.app import PatchbayApp
from patchbay.tui.screens.orders import OrdersScreen
from tests.console.fake import EVENTS, SOCKET, FakeDaemon, export_run, installation
from tests.console.pilot import until

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 22, 10, 6, tzinfo=UTC)


def shown(app: PatchbayApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def opened(pilot: Pilot[None], app: PatchbayApp) -> DataTable:
    await until(pilot, lambda: app.connected)
    await pilot.press("o")
    assert isinstance(app.screen, OrdersScreen)
    table = app.screen.query_one(DataTable)
    await until(pilot, lambda: table.row_count == 3)
    return table


async def test_the_ledger_the_running_export_and_the_orders_that_need_a_look() -> None:
    daemon = FakeDaemon(installation(), EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await opened(pilot, app)
        assert [str(c) for c in table.get_row_at(0)] == [
            "#1 omnisend (shop)",
            "288",
            "2",
            "1",
            "0",
            "#4 done",
        ]
        assert str(table.get_row_at(1)[-1]) == "#5 40%"
        detail = shown(app, "#detail")
        assert "export #4 done 5m 0s ago" in detail
        assert "o_1042 failed after 3 tries: HTTP 422 from omnisend" in detail
        assert "o_1043 in doubt after 1 try" in detail
        await pilot.press("down")
        detail = shown(app, "#detail")
        assert "export #5 running" in detail and "40%" in detail
        assert "no order needs a look" in detail
        await pilot.press("down")
        assert "no export asked for yet" in shown(app, "#detail")


async def test_e_starts_an_export_and_a_refusal_looks_like_one() -> None:
    answers = installation()
    answers["POST /v1/integrations/4/orders/export"] = {
        **export_run(6, 4, "running"),
        "already_running": False,
    }
    answers["POST /v1/integrations/1/orders/export"] = ApiFailure(
        404, "not_found", "no integration 1"
    )
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, app)
        await pilot.press("e")
        await until(pilot, lambda: "no integration 1" in shown(app, "#feedback"))
        await pilot.press("down", "down", "e")
        await until(pilot, lambda: "order export #6 to 4 started" in shown(app, "#feedback"))
        assert (
            "POST",
            "/v1/integrations/4/orders/export",
            {"mode": "once"},
        ) in daemon.requests
