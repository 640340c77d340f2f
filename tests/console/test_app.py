"""The console against the real daemon, driven by Textual's pilot (test_screens.py has the
snapshots, from fake data; test_console_fake.py the rest without a daemon)."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

import httpx
import pytest
from textual.widgets import DataTable, Input, ProgressBar, Static

from patchbay.tui.app import PatchbayApp
from patchbay.tui.screens.confirm import ConfirmScreen
from patchbay.tui.screens.connect import ConnectScreen
from patchbay.tui.screens.consent import ConsentScreen
from patchbay.tui.screens.deliveries import DeliveriesScreen
from patchbay.tui.screens.help import HelpScreen
from patchbay.tui.screens.inbox import InboxScreen
from patchbay.tui.screens.integrations import IntegrationsScreen
from patchbay.tui.screens.routes import RoutesScreen
from patchbay.tui.screens.syncs import SyncsScreen
from patchbay.tui.widgets.integration_card import IntegrationCard
from patchbay.tui.widgets.log_pane import LogPane
from patchbay.tui.widgets.status_panel import StatusPanel
from patchbay.tui.widgets.sync_card import SyncCard
from tests.console.pilot import until
from tests.support import Daemon, Sandbox

pytestmark = pytest.mark.anyio


def panel_text(app: PatchbayApp) -> str:
    return str(app.query_one(StatusPanel).render())


async def test_console_shows_status_and_log_then_reconnects(daemon: Daemon) -> None:
    app = PatchbayApp(daemon.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected and "running" in panel_text(app))
        log = app.query_one(LogPane)
        await until(pilot, lambda: any(e.message == "patchbayd ready" for e in log.events))

        daemon.stop()
        await until(pilot, lambda: not app.connected and "disconnected" in panel_text(app))

        daemon.start()
        await until(pilot, lambda: app.connected and "running" in panel_text(app))
        # The backlog is not shown twice after reconnecting: only events after the last seen.
        await until(pilot, lambda: [e.message for e in log.events].count("patchbayd ready") == 2)
        ids = [e.id for e in log.events]
        assert ids == sorted(set(ids))

        await pilot.press("l")
        assert log.min_level == "info"
        await pilot.press("q")
    assert app.return_code == 0 or app.return_code is None


async def test_without_a_daemon_the_console_says_why_and_keeps_trying() -> None:
    """The real client (the snapshots use a fake): no socket, said in words."""
    app = PatchbayApp(Path("/nonexistent/patchbay.sock"), reconnect_delay=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "no socket there (is patchbayd running?)" in panel_text(app))
        assert not app.connected and app.sub_title == "disconnected"
        await pilot.press("r")  # a screen still opens, and says what it is waiting for
        assert "waiting for the daemon" in str(app.screen.query_one("#message", Static).render())
        await until(
            pilot,
            lambda: "no socket there" in str(app.screen.query_one("#feedback", Static).render()),
        )


async def test_integrations_screen_connects_and_disconnects(hub: Daemon, sandbox: Sandbox) -> None:
    app = PatchbayApp(hub.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, IntegrationsScreen)
        await until(pilot, lambda: len(screen.query(IntegrationCard)) == 6)
        omnisend = next(c for c in screen.query(IntegrationCard) if c.card.provider == "omnisend")
        omnisend.focus()
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConnectScreen))
        dialog = app.screen
        dialog.query_one("#opt-base_url", Input).value = f"{sandbox.url}/omnisend"
        secret = dialog.query_one("#secret", Input)
        assert secret.password  # masked as it is typed
        secret.value = "wrong-key"
        await pilot.press("enter")
        result = dialog.query_one("#result", Static)
        await until(pilot, lambda: "invalid API key" in str(result.render()))
        assert app.screen is dialog  # the error is shown in place; nothing was stored
        secret.value = "sandbox-console-key"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await until(
            pilot, lambda: any(c.card.state == "connected" for c in screen.query(IntegrationCard))
        )
        card = next(c for c in screen.query(IntegrationCard) if not c.card.available)
        card.focus()
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(
            pilot,
            lambda: (
                app.screen is screen
                and all(c.card.state == "available" for c in screen.query(IntegrationCard))
            ),
        )
        assert json.loads(hub.cli("integrations", "list", "--json").stdout)["integrations"] == []
        await pilot.press("escape")
        await pilot.press("q")


async def test_syncs_screen_shows_a_bar_while_running_and_the_report_after(
    hub: Daemon, sandbox: Sandbox
) -> None:
    people = [
        {"id": f"c{i}", "email": f"p{i}@example.com", "email_consent": {"state": "subscribed"}}
        for i in range(30)
    ]
    httpx.post(
        hub.url("/ingest/demo/customers"),
        json={"items": people},
        headers={"Authorization": "Bearer demo-token"},
    ).raise_for_status()
    key = hub.directory / "k"
    key.write_text("sandbox-k")
    hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "demo",
        "--api-key-file",
        str(key),
        "--base-url",
        f"{sandbox.url}/omnisend",
    )
    sandbox.faults("omnisend", latency_ms=400)
    app = PatchbayApp(hub.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        hub.cli("sync", "create", "1", "--segment", "all", "--mode", "once")
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SyncsScreen)
        await until(pilot, lambda: len(screen.query(SyncCard)) == 1)
        card = screen.query_one(SyncCard)
        await until(pilot, lambda: card.query_one(ProgressBar).display)
        await until(
            pilot,
            lambda: "last run #1 done" in str(card.query_one(".report", Static).render()),
            timeout=30,
        )
        assert not card.query_one(ProgressBar).display
        assert "sent 30" in str(card.query_one(".report", Static).render())
        await pilot.press("escape")
        await pilot.press("q")


async def test_consent_screen_looks_a_contact_up_and_lists_held_back_opt_outs(
    hub: Daemon, sandbox: Sandbox
) -> None:
    key = hub.directory / "k"
    key.write_text("sandbox-k")
    hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "demo",
        "--api-key-file",
        str(key),
        "--base-url",
        f"{sandbox.url}/omnisend",
    )
    for at in ("2026-11-22T10:00:00Z", "2026-11-22T10:05:00Z"):  # opt-in, then too-early out
        httpx.post(
            hub.url("/ingest/demo/customers"),
            headers={"Authorization": "Bearer demo-token"},
            json={
                "id": "q1",
                "email": "quick@example.com",
                "created_at": "2026-11-22T10:00:00Z",
                "updated_at": at,
                "email_consent": {
                    "state": "subscribed" if at.endswith("00:00Z") else "unsubscribed",
                    "updated_at": at,
                },
            },
        ).raise_for_status()
    app = PatchbayApp(hub.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, ConsentScreen)
        await pilot.press("r")  # the screen keys work until / focuses the box …
        assert not isinstance(app.screen, ConsentScreen)
        await pilot.press("c")
        screen = app.screen
        await pilot.press("slash", *"quick@example.com", "enter")  # … then c, s, i, q type
        history = screen.query_one("#history", Static)
        await until(pilot, lambda: "suppressed" in str(history.render()), timeout=20)
        state = screen.query_one("#state", Static)
        await until(pilot, lambda: "store demo" in str(state.render()))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "1 opt-outs held back" in str(state.render()))
        assert "quick@example.com" in str(history.render())
        await pilot.press("escape")
        await pilot.press("q")


async def test_inbox_screen_lists_quarantined_rows_and_replays_one(daemon: Daemon) -> None:
    daemon.stop()
    db = sqlite3.connect(daemon.state_dir / "patchbay.db")
    db.execute(
        "INSERT INTO inbox (store, kind, source, dedupe, payload, received_at)"
        " VALUES ('demo', 'customers', 'ingest', 'x1', ?, '2026-11-22T10:00:00Z')",
        (
            json.dumps(
                {"id": "p1", "email": "p1@example.com", "created_at": "0001-01-01T00:00:00+01:00"}
            ),
        ),
    )
    db.commit()
    db.close()
    daemon.start()
    app = PatchbayApp(daemon.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected and "1 quarantined" in panel_text(app))
        await pilot.press("n")
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert "created_at" in str(table.get_row_at(0)[3])
        await pilot.press("p")
        feedback = screen.query_one("#feedback", Static)
        await until(pilot, lambda: "queued for processing again" in str(feedback.render()))
        # It fails again (the data is still bad), so it comes back with its error.
        await until(pilot, lambda: table.row_count == 1 and "1 quarantined" in panel_text(app))
        await pilot.press("escape")
        await pilot.press("q")


async def test_routes_and_deliveries_screens_switch_a_route_and_replay_a_dead_delivery(
    hub: Daemon, sandbox: Sandbox
) -> None:
    key = hub.directory / "k"
    key.write_text("sandbox-k")
    hub.cli(
        "integrations",
        "connect",
        "omnisend",
        "--store",
        "demo",
        "--api-key-file",
        str(key),
        "--base-url",
        f"{sandbox.url}/omnisend",
        "--rate-limit",
        "none",
    )
    example = resources.files("patchbayd.route_examples") / "coupon_created.toml"
    hub.cli("routes", "import", str(example))
    sandbox.faults("omnisend", error_rate=1.0, error_status=400)
    httpx.post(
        hub.url("/ingest/demo/events"),
        headers={"Authorization": "Bearer demo-token"},
        json={
            "id": "e1",
            "type": "loyalty.coupon_created",
            "occurred_at": "2026-11-22T10:00:00Z",
            "customer": {"id": "c1", "email": "ann@example.com"},
            "data": {"code": "WELCOME10"},
        },
    ).raise_for_status()
    app = PatchbayApp(hub.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("r")
        routes = app.screen
        assert isinstance(routes, RoutesScreen)
        table = routes.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1 and "dead 1" in str(table.get_row_at(0)[3]))
        await pilot.press("space")
        await until(pilot, lambda: str(table.get_row_at(0)[2]) == "off")
        assert hub.api("/v1/routes")["routes"][0]["enabled"] is False
        await pilot.press("space")
        await until(pilot, lambda: str(table.get_row_at(0)[2]) == "on")
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, DeliveriesScreen)
        rows = screen.query_one(DataTable)
        await until(pilot, lambda: rows.row_count == 1)
        detail = screen.query_one("#detail", Static)
        await until(pilot, lambda: "HTTP 400" in str(detail.render()))
        sandbox.faults("omnisend", error_rate=0.0)
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: str(rows.get_row_at(0)[1]) == "delivered")
        assert "queued again" in str(screen.query_one("#feedback", Static).render())
        await pilot.press("escape", "escape", "q")
    events = sandbox.state("omnisend")["events"]
    assert [e["properties"]["code"] for e in events] == ["WELCOME10"]


async def test_question_mark_lists_the_keys_of_the_screen_and_the_app(daemon: Daemon) -> None:
    app = PatchbayApp(daemon.socket, reconnect_delay=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("n", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = str(app.screen.query_one(Static).render())
        assert "Replay row" in shown and "Deliveries" in shown and "Quit" in shown
        assert "Routes" in shown  # r means Routes everywhere: replay is p
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("escape", "q")


def test_no_key_means_two_things() -> None:
    """Screen keys never shadow the app's (one key per screen from anywhere): a screen
    action on i/s/c/r/d/n/l/q/? would make that key mean two things. Modal dialogs (help,
    confirm, connect) hold the keyboard while open, and close with their own keys."""
    import importlib
    import pkgutil

    from textual.screen import ModalScreen, Screen

    from patchbay.tui import screens

    def keys(bindings: list) -> set[str]:
        return {
            k.strip() for b in bindings for k in (b.key if hasattr(b, "key") else b[0]).split(",")
        }

    global_keys = keys(PatchbayApp.BINDINGS)
    clashes = []
    for info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"patchbay.tui.screens.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Screen)
                and not issubclass(value, ModalScreen)
                and value.__module__ == module.__name__
            ):
                for key in keys(list(value.BINDINGS)) & global_keys:
                    clashes.append(f"{value.__name__}: {key}")
    assert clashes == []
