"""The integration detail (Enter on a card), against the fake daemon: what it shows of the
integration, its tabs, and a check from it that fails looking failed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent

from patchbay.client import ApiFailure
from patchbay.tui.app import PatchbayApp
from patchbay.tui.screens.integration_detail import IntegrationDetailScreen
from patchbay.tui.screens.integrations import IntegrationsScreen
from patchbay.tui.widgets.integration_card import IntegrationCard
from tests.console.fake import EVENTS, SOCKET, FakeDaemon, installation
from tests.console.pilot import until

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 22, 10, 6, tzinfo=UTC)


def shown(app: PatchbayApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def opened(pilot: Pilot[None], app: PatchbayApp, integration_id: int) -> None:
    await until(pilot, lambda: app.connected)
    await pilot.press("i")
    await until(pilot, lambda: len(app.screen.query(IntegrationCard)) == 6)
    next(c for c in app.screen.query(IntegrationCard) if c.card.id == integration_id).focus()
    await pilot.press("enter")
    await until(
        pilot,
        lambda: isinstance(app.screen, IntegrationDetailScreen) and app.screen.detail is not None,
    )


async def test_enter_opens_the_detail_with_key_limit_problems_audit_and_callbacks() -> None:
    daemon = FakeDaemon(installation(), EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, app, 3)
        assert ("GET", "/v1/integrations/3", {}) in daemon.requests
        facts = shown(app, "#facts")
        assert "error — API key revoked: 401 Unauthorized" in facts
        assert "sha256:9f2c41d0" in facts
        assert "1000/min · 412 sent last minute (41 %) · 3 waiting · 2 throttled" in facts
        problems = app.screen.query_one("#problems-table", DataTable)
        assert problems.row_count == 2
        newest = [str(c) for c in problems.get_row_at(0)]
        assert newest[:2] == ["2m 50s ago", "error"]  # newest first, its age on our clock
        assert "credentials rejected" in newest[2] and "integration=" not in newest[2]
        assert app.screen.query_one(TabbedContent).active == "problems"
        await pilot.press("2")
        assert app.screen.query_one(TabbedContent).active == "audit"
        assert app.screen.query_one("#audit-table", DataTable).row_count == 2
        await pilot.press("3")
        urls = shown(app, "#callback-urls")
        assert "/callbacks/Xq3v9TzL0aB1cD2eF3gH4iJ5/opt-out?email=$email$" in urls
        await pilot.press("escape")
        assert isinstance(app.screen, IntegrationsScreen)


async def test_a_healthy_integration_opens_on_its_audit_trail() -> None:
    answers = installation()
    answers["GET /v1/integrations/3"] = {
        **answers["GET /v1/integrations/3"],
        "state": "connected",
        "reason": None,
        "problems": [],
    }
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, app, 3)
        assert app.screen.query_one(TabbedContent).active == "audit"


async def test_a_check_that_fails_says_so_in_red_and_stays() -> None:
    answers = installation()
    answers["POST /v1/integrations/3/check"] = ApiFailure(
        502, "check_failed", "check failed: Service Unavailable (HTTP 503)"
    )
    daemon = FakeDaemon(answers, EVENTS)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, app, 3)
        await pilot.press("k")
        await until(pilot, lambda: "HTTP 503" in shown(app, "#feedback"))
        line = app.screen.query_one("#feedback", Static).render()
        assert str(line) == "integration 3: check failed: Service Unavailable (HTTP 503)"
        reads = len(daemon.calls("GET"))
        await until(pilot, lambda: len(daemon.calls("GET")) > reads + 1)  # refreshed since
        assert "HTTP 503" in shown(app, "#feedback")  # the refresh did not wipe it
