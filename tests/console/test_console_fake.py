"""The console against a fake daemon (tests/console/fake.py): what each key does, through
the app's one client; what the screens do with a failed read, a daemon gone and back,
states they do not know. test_app.py does the same against the real daemon."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from patchbay.client import ApiFailure
from patchbay.tui.app import PatchbayApp
from patchbay.tui.messages import RequestFailed
from patchbay.tui.screens.confirm import ConfirmScreen
from patchbay.tui.screens.connect import ConnectScreen
from patchbay.tui.screens.deliveries import DeliveriesScreen
from patchbay.tui.screens.inbox import InboxScreen
from patchbay.tui.screens.integrations import IntegrationsScreen
from patchbay.tui.screens.routes import RoutesScreen
from patchbay.tui.widgets.integration_card import IntegrationCard
from patchbay.tui.widgets.log_pane import LogPane
from patchbay.tui.widgets.status_panel import StatusPanel
from patchbay.tui.widgets.sync_card import SyncCard
from tests.console.fake import EVENTS, INTEGRATIONS, SOCKET, FakeDaemon, installation
from tests.console.pilot import until

pytestmark = pytest.mark.anyio

TUI = Path(__file__).resolve().parents[2] / "console" / "patchbay" / "tui"


def shown(widget: object) -> str:
    return str(widget.render())  # type: ignore[attr-defined]


def feedback(app: PatchbayApp) -> str:
    return shown(app.screen.query_one("#feedback", Static))


def started(
    daemon: FakeDaemon | None = None, reconnect_delay: float = 60
) -> tuple[PatchbayApp, FakeDaemon]:
    daemon = daemon or FakeDaemon(installation(), EVENTS)
    return PatchbayApp(SOCKET, reconnect_delay=reconnect_delay, open_client=daemon.open), daemon


async def connected(pilot: Pilot[None], app: PatchbayApp) -> None:
    await until(pilot, lambda: app.connected and len(app.query_one(LogPane).events) > 0)


def test_only_the_app_opens_a_client() -> None:
    """Screens and widgets render and ask the app; none imports the client module."""
    offenders = []
    for path in sorted(TUI.rglob("*.py")):
        if path.name == "app.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                (node.level > 0 and (node.module or "").split(".")[-1] == "client")
                or node.module == "patchbay.client"
            ):
                offenders.append(f"{path.relative_to(TUI)}:{node.lineno}")
            if isinstance(node, ast.Import) and any(
                a.name == "patchbay.client" for a in node.names
            ):
                offenders.append(f"{path.relative_to(TUI)}:{node.lineno}")
    assert not offenders, offenders


async def test_the_worker_reads_status_providers_and_log_then_feeds_only_the_front_screen() -> None:
    app, daemon = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.query_one(LogPane).events) == len(EVENTS))
        assert "2 quarantined (n to see)" in shown(app.query_one(StatusPanel))
        assert set(app.providers) == {"omnisend", "klaviyo", "salesmanago", "mailchimp", "webhook"}
        assert app.sub_title == "running · 127.0.0.1:8080"
        await pilot.pause(0.3)
        assert {path for _, path, _ in daemon.calls("GET")} == {"/v1/status", "/v1/providers"}

        await pilot.press("r")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 3)
        await pilot.press("v")  # the route's deliveries: the routes underneath wait
        assert isinstance(app.screen, DeliveriesScreen)
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 3)
        assert ("GET", "/v1/deliveries", {"route": 1, "limit": 200}) in daemon.requests
        routes_read = len([r for r in daemon.requests if r[1] == "/v1/routes"])
        await pilot.pause(2.3)  # longer than the routes' refresh
        assert len([r for r in daemon.requests if r[1] == "/v1/routes"]) == routes_read
        await pilot.press("escape")  # back in front: read again at once
        await until(
            pilot,
            lambda: len([r for r in daemon.requests if r[1] == "/v1/routes"]) > routes_read,
            timeout=0.5,
        )


async def test_integrations_check_disconnect_and_connect_go_through_the_app() -> None:
    answers = installation()
    answers["POST /v1/integrations/3/check"] = {
        "id": 3,
        "provider": "salesmanago",
        "store": "loyalty",
        "state": "error",
        "reason": "API key revoked",
    }
    listed = copy.deepcopy(INTEGRATIONS)
    answers["GET /v1/integrations"] = lambda query: copy.deepcopy(listed)

    def disconnect(body: None) -> dict[str, object]:
        listed["cards"] = [c for c in listed["cards"] if c.get("id") != 2]
        return {"disconnected": 2, "provider": "klaviyo", "state": "available"}

    answers["DELETE /v1/integrations/2"] = disconnect

    def connect(body: dict[str, object]) -> dict[str, object]:
        if body["secret"] != "good-key":
            raise ApiFailure(422, "auth_failed", "webhook refused the key: invalid signature")
        return {"id": 9, "provider": "webhook", "store": body["store"], "state": "connected"}

    answers["POST /v1/integrations"] = connect
    app, daemon = started(FakeDaemon(answers, EVENTS))
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, IntegrationsScreen)
        await until(pilot, lambda: len(screen.query(IntegrationCard)) == 6)

        def card(provider: str, store: str | None = None) -> IntegrationCard:
            return next(
                c
                for c in screen.query(IntegrationCard)
                if c.card.provider == provider and (store is None or c.card.store == store)
            )

        card("salesmanago").focus()
        await pilot.press("k")
        await until(pilot, lambda: "integration 3: error API key revoked" in feedback(app))
        assert ("POST", "/v1/integrations/3/check", None) in daemon.requests

        card("klaviyo").focus()
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # no: nothing sent
        assert app.screen is screen and not daemon.calls("DELETE")
        await pilot.press("x", "y")
        await until(pilot, lambda: "disconnected integration 2" in feedback(app))
        assert daemon.calls("DELETE") == [("DELETE", "/v1/integrations/2", None)]
        await until(pilot, lambda: len(screen.query(IntegrationCard)) == 5)
        assert screen.focused is card("salesmanago")  # the card now where it was

        await pilot.press("a")  # klaviyo is an integration, not a provider to connect
        assert "focus a provider marked available" in feedback(app)
        card("webhook").focus()
        await pilot.press("a")
        dialog = app.screen
        assert isinstance(dialog, ConnectScreen)
        assert dialog.query_one("#store", Input).value == "shop"  # the first store
        assert dialog.query_one("#opt-opt_out_guard", Input).value == "15m"  # the default
        secret = dialog.query_one("#secret", Input)
        assert secret.password
        secret.value = "bad-key"
        await pilot.press("enter")
        result = dialog.query_one("#result", Static)
        await until(pilot, lambda: "invalid signature" in shown(result))
        assert app.screen is dialog  # shown in place; nothing stored
        secret.value = "good-key"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert "connected integration 9 (webhook)" in feedback(app)
        sent = [body for _, path, body in daemon.calls("POST") if path == "/v1/integrations"]
        assert sent[-1] == {
            "provider": "webhook",
            "store": "shop",
            "secret": "good-key",
            "settings": {"opt_out_guard": "15m", "fetch_on_register": "on"},
        }


async def test_syncs_routes_deliveries_and_inbox_actions_go_through_the_app() -> None:
    answers = installation()
    for path in (
        "POST /v1/syncs/1/run",
        "POST /v1/routes/1/disable",
        "POST /v1/deliveries/44/replay",
        "POST /v1/inbox/812/replay",
    ):
        answers[path] = {"ok": True}
    app, daemon = started(FakeDaemon(answers, EVENTS))
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("s")
        await until(pilot, lambda: len(app.screen.query(SyncCard)) == 3)
        await pilot.press("g")
        await until(pilot, lambda: "sync 1: run requested" in feedback(app))

        await pilot.press("escape", "r")
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 3)
        await pilot.press("space")
        await until(pilot, lambda: "route 1 disabled" in feedback(app))

        await pilot.press("escape", "d")
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 4)
        await pilot.press("down")  # 43 is retrying: still being sent
        await pilot.press("p")
        assert "delivery 43 is retrying" in feedback(app)
        await pilot.press("up", "p")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: "delivery 44 queued again" in feedback(app))

        await pilot.press("escape", "n")
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        assert len(app.screen.query_one(DataTable).columns) == 4  # not twice over
        await pilot.press("p")
        await until(pilot, lambda: "row 812 queued for processing again" in feedback(app))
    assert [path for _, path, _ in daemon.calls("POST")] == [
        "/v1/syncs/1/run",
        "/v1/routes/1/disable",
        "/v1/deliveries/44/replay",
        "/v1/inbox/812/replay",
    ]


async def test_a_refused_action_is_said_in_red_and_the_list_stays() -> None:
    answers = installation()
    answers["POST /v1/deliveries/44/replay"] = ApiFailure(
        409, "conflict", "delivery 44 was refused when it was planned; it is never sent"
    )
    app, _ = started(FakeDaemon(answers, EVENTS))
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("d")
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 4)
        await pilot.press("p", "y")
        await until(
            pilot, lambda: "replay of delivery 44 failed: delivery 44 was refused" in feedback(app)
        )
        assert app.screen.query_one(DataTable).row_count == 4


async def test_the_filter_changes_what_the_feed_reads() -> None:
    app, daemon = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("d")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 4)
        await pilot.press("f")
        await until(pilot, lambda: table.row_count == 1)
        assert daemon.requests[-1] == ("GET", "/v1/deliveries", {"status": "pending", "limit": 200})
        assert "showing pending" in shown(app.screen.query_one("#message", Static))
        await pilot.press("f", "f", "f")  # retrying, delivered, dead
        await until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[1]) == "dead")


async def test_a_failed_read_keeps_the_rows_and_says_why_until_the_next_good_one() -> None:
    answers = installation()
    app, _ = started(FakeDaemon(answers, EVENTS))
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("r")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 3)
        good = answers["GET /v1/routes"]
        answers["GET /v1/routes"] = {"routes": [{"name": "no id"}]}
        await until(
            pilot,
            lambda: (
                "the daemon's answer to /v1/routes could not be read: "
                "route: 'id' must be a whole number" in feedback(app)
            ),
            timeout=5,
        )
        assert table.row_count == 3
        answers["GET /v1/routes"] = ApiFailure(500, "internal", "database is locked")
        await until(pilot, lambda: "database is locked" in feedback(app), timeout=5)
        answers["GET /v1/routes"] = good
        await until(pilot, lambda: feedback(app) == "", timeout=5)


async def test_the_daemon_going_away_and_coming_back() -> None:
    app, daemon = started(reconnect_delay=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("n")
        assert isinstance(app.screen, InboxScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2)
        daemon.go_away()
        await until(
            pilot, lambda: not app.connected and "disconnected: connection closed" in feedback(app)
        )
        assert table.row_count == 2  # shown as last read
        assert "disconnected" in shown(app.query_one(StatusPanel))
        with pytest.raises(RequestFailed, match="not connected to patchbayd"):
            await app.request("POST", "/v1/inbox/812/replay")
        daemon.come_back()
        await until(pilot, lambda: app.connected and "running" in shown(app.query_one(StatusPanel)))
        await until(pilot, lambda: feedback(app) == "")  # the next good read clears it
        daemon.go_away()
        await until(pilot, lambda: not app.connected)
        await pilot.press("p")
        await until(pilot, lambda: "replay of row 812 failed: not connected" in feedback(app))
        daemon.come_back()
        await until(pilot, lambda: app.connected)
        await pilot.pause(0.2)  # what an action came to stays, until the next action
        assert "replay of row 812 failed" in feedback(app)
        # the log is not shown twice: only what came after the last event seen
        assert [e.id for e in app.query_one(LogPane).events] == [e["id"] for e in EVENTS]


async def test_states_levels_and_statuses_the_console_does_not_know_are_shown_plainly() -> None:
    answers = installation()
    answers["GET /v1/integrations"] = {
        "cards": [
            {"card": "integration", "id": 1, "provider": "omnisend", "state": "hibernating"},
            {"card": "available", "provider": "webhook"},
        ]
    }
    answers["GET /v1/deliveries"] = {"deliveries": [{"id": 1, "status": "parked"}]}
    events = [
        {"id": 1, "level": "trace", "message": "from a newer daemon"},
        {"id": "x"},
        {"id": 3, "level": "error", "message": "after the bad one"},
    ]
    app, _ = started(FakeDaemon(answers, events))
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogPane)
        await until(pilot, lambda: len(log.events) == 3)
        assert [e.level for e in log.events] == ["trace", "warning", "error"]
        assert "an event the console could not read" in log.events[1].message
        for _ in range(3):
            await pilot.press("l")  # up to error: the unknown level counts as info
        assert log.min_level == "error" and len(log.lines) == 1
        await pilot.press("i")
        await until(pilot, lambda: len(app.screen.query(IntegrationCard)) == 2)
        assert "hibernating · ?" in shown(app.screen.query(IntegrationCard).first())
        await pilot.press("escape", "d")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[1]) == "parked"


async def test_consent_looks_up_through_the_app() -> None:
    app, daemon = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("c", "slash", *"nobody@example.com", "enter")
        state = app.screen.query_one("#state", Static)
        await until(pilot, lambda: "no such endpoint" in shown(state))
        box = app.screen.query_one(Input)
        box.value = "quick@example.com"
        await pilot.press("slash", "enter")
        await until(pilot, lambda: "store shop (customer q1): unsubscribed" in shown(state))
        assert "opt_out_guard" in shown(app.screen.query_one("#history", Static))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "1 opt-outs held back" in shown(state))
        assert ("GET", "/v1/consent/suppressed", {}) in daemon.requests


async def test_help_lists_the_screens_keys_then_the_apps() -> None:
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("r")
        assert isinstance(app.screen, RoutesScreen)
        await pilot.press("question_mark")
        text = shown(app.screen.query_one(Static))
        assert text.index("On/off") < text.index("anywhere") < text.index("Inbox")
        assert "space" in text and "ctrl+p" in text
        assert text.count("Deliveries") == 1  # d is this screen's here (the route's)
        await pilot.press("escape")
        assert isinstance(app.screen, RoutesScreen)


async def test_an_unchanged_feed_is_not_posted_again_but_a_change_or_an_ask_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A repaint costs CPU: an idle console re-reading the same list must not redraw it."""
    from patchbay.tui.messages import Feed, RoutesUpdated
    from patchbay.tui.screens import routes

    monkeypatch.setattr(routes, "FEED", Feed("/v1/routes", RoutesUpdated.from_json, every=0.05))
    app, daemon = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("r")
        screen = app.screen
        posted: list[object] = []
        original = screen.post_message

        def counted(message: object) -> bool:
            if isinstance(message, RoutesUpdated):
                posted.append(message)
            return original(message)  # type: ignore[arg-type]

        screen.post_message = counted  # type: ignore[method-assign]

        def reads() -> int:
            return len([r for r in daemon.requests if r[1] == "/v1/routes"])

        start = reads()
        await until(pilot, lambda: reads() >= start + 5)
        assert len(posted) <= 1  # at most the first read after the counting began
        before = len(posted)
        changed = copy.deepcopy(daemon.answers["GET /v1/routes"])
        changed["routes"][0]["name"] = "renamed"
        daemon.answers["GET /v1/routes"] = changed
        await until(pilot, lambda: len(posted) == before + 1)
        app.refresh_feed()  # asked for (after an action): posted even when unchanged
        await until(pilot, lambda: len(posted) == before + 2)


async def test_screens_switch_rather_than_pile_up() -> None:
    """One key per screen from anywhere; what was open above the main screen closes, so
    esc leads back to the main screen however many screens were visited."""
    app, _ = started()
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("i", "s", "r", "d", "n", "i")
        assert isinstance(app.screen, IntegrationsScreen) and len(app.screen_stack) == 2
        await pilot.press("r")
        await until(pilot, lambda: app.screen.query_one(DataTable).row_count == 3)
        await pilot.press("v")  # a route's deliveries: a sub-screen of routes
        assert isinstance(app.screen, DeliveriesScreen) and len(app.screen_stack) == 3
        await pilot.press("n")  # another screen: the routes and their deliveries close
        assert isinstance(app.screen, InboxScreen) and len(app.screen_stack) == 2
        await pilot.press("escape")
        assert len(app.screen_stack) == 1 and app.query_one(StatusPanel)
        await pilot.press("question_mark")  # help opens over the screen it explains
        assert len(app.screen_stack) == 2


async def test_progress_events_feed_the_bars_not_the_log() -> None:
    progress = {
        **EVENTS[-1],
        "id": len(EVENTS) + 1,
        "kind": "progress",
        "component": "orders",
        "message": "order export progress",
    }
    last = {**EVENTS[-1], "id": len(EVENTS) + 2, "message": "after the progress"}
    app, _ = started(FakeDaemon(installation(), [*EVENTS, progress, last]))
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogPane)
        await until(pilot, lambda: any(e.message == "after the progress" for e in log.events))
        assert not any(e.message == "order export progress" for e in log.events)
        assert app._last_event_id == len(EVENTS) + 2  # read past it: a reconnect resumes after


async def test_a_slow_daemon_looks_slow_and_breaks_nothing() -> None:
    """A timeout (DaemonSlow) on a feed or an action is shown in red, and the app goes on."""
    from patchbay.client import DaemonSlow

    answers = installation()
    answers["GET /v1/routes"] = DaemonSlow(SOCKET, "GET /v1/routes", 5)
    answers["POST /v1/integrations/3/check"] = DaemonSlow(SOCKET, "POST check", 30)
    app, _ = started(FakeDaemon(answers, EVENTS))
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await pilot.press("r")
        await until(pilot, lambda: "did not answer GET /v1/routes" in feedback(app))
        await pilot.press("i")
        await until(pilot, lambda: len(app.screen.query(IntegrationCard)) == 6)
        next(c for c in app.screen.query(IntegrationCard) if c.card.id == 3).focus()
        await pilot.press("k")
        await until(pilot, lambda: "did not answer POST check" in feedback(app))
        assert app.connected  # the worker lives on
