"""Snapshots of every screen from fake data (tests/console/fake.py), no daemon running: at
80x24, the smallest terminal the console is made for, and at 160x48.

After a deliberate change to the look: `pytest tests/console --snapshot-update`, then
look at each changed SVG before committing it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input

from patchbay.tui import records
from patchbay.tui.app import PatchbayApp
from patchbay.tui.messages import LogArrived
from patchbay.tui.screens.connect import ConnectScreen
from patchbay.tui.screens.event import EventScreen
from patchbay.tui.screens.help import HelpScreen
from patchbay.tui.screens.integration_detail import IntegrationDetailScreen
from patchbay.tui.screens.sync_create import SyncCreateScreen
from patchbay.tui.screens.sync_detail import SyncDetailScreen
from patchbay.tui.widgets.integration_card import IntegrationCard
from patchbay.tui.widgets.log_pane import LogPane
from patchbay.tui.widgets.log_search import LogSearch
from patchbay.tui.widgets.status_panel import StatusPanel
from patchbay.tui.widgets.sync_card import SyncCard
from tests.console.fake import EVENTS, SOCKET, FakeDaemon, installation
from tests.console.pilot import until

NOW = datetime(2026, 11, 22, 10, 6, tzinfo=UTC)  # just after the fake daemon's events
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]

Scene = Callable[[Pilot[None], PatchbayApp, FakeDaemon], Awaitable[None]]


@pytest.fixture(autouse=True)
def local_time_is_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The log shows local times: the snapshots are taken in UTC, wherever they run."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def text_of(widget: Any) -> str:
    return str(widget.render())


def no_blinking(app: PatchbayApp) -> None:
    """A text cursor mid-blink would make a snapshot differ from run to run."""
    for box in app.screen.query(Input):
        box.cursor_blink = False


async def connected(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    log = app.query_one(LogPane)
    await until(
        pilot,
        lambda: (
            app.connected
            and "running" in text_of(app.query_one(StatusPanel))
            and len(log.events) == len(EVENTS)
        ),
    )


async def integrations(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("i")
    await until(pilot, lambda: len(app.screen.query(IntegrationCard)) == 6)


async def connect_form(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await integrations(pilot, app, daemon)
    next(c for c in app.screen.query(IntegrationCard) if c.card.provider == "webhook").focus()
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, ConnectScreen))
    no_blinking(app)


async def integration_detail(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await integrations(pilot, app, daemon)
    next(c for c in app.screen.query(IntegrationCard) if c.card.id == 3).focus()
    await pilot.press("enter")
    await until(
        pilot,
        lambda: isinstance(app.screen, IntegrationDetailScreen) and app.screen.detail is not None,
    )


async def help_keys(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await integrations(pilot, app, daemon)
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def syncs(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("s")
    await until(pilot, lambda: len(app.screen.query(SyncCard)) == 3)


async def sync_detail(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await syncs(pilot, app, daemon)
    await pilot.press("enter")  # the first card (sync 1) has the focus
    await until(
        pilot,
        lambda: isinstance(app.screen, SyncDetailScreen) and app.screen.shown is not None,
    )


async def sync_create(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await syncs(pilot, app, daemon)
    await pilot.press("plus")
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, SyncCreateScreen)
            and not app.screen.query_one("#create", Button).disabled
        ),
    )
    no_blinking(app)


async def consent(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("c", "slash", *"quick@example.com", "enter")
    await until(pilot, lambda: "suppressed" in text_of(app.screen.query_one("#history")))
    no_blinking(app)


def table_rows(app: PatchbayApp, count: int) -> Callable[[], bool]:
    return lambda: (
        bool(app.screen.query(DataTable)) and app.screen.query_one(DataTable).row_count == count
    )


async def routes(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("r")
    await until(pilot, table_rows(app, 3))


async def deliveries(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("d")
    await until(pilot, table_rows(app, 4))


async def inbox(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("n")
    await until(pilot, table_rows(app, 2))


async def log_filtered(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    """Level warning and up, integration 3's (the event under the cursor), a search."""
    await connected(pilot, app, daemon)
    log = app.query_one(LogPane)
    await pilot.press("l", "l", "up")
    assert log.view.chosen is not None and log.view.chosen.fields.get("integration") == 3
    await pilot.press("I", "slash", *"revoked", "enter")
    await until(pilot, lambda: "'revoked'" in str(log.border_title) and len(log.lines) == 1)


async def log_search(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    """The search line open, a word typed and not applied yet."""
    await connected(pilot, app, daemon)
    await pilot.press("slash", *"delivery")
    box = app.query_one(LogSearch)
    await until(pilot, lambda: box.has_focus and box.value == "delivery")
    no_blinking(app)


async def log_paused(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    """Paused, then three events came: kept and counted, not shown."""
    await connected(pilot, app, daemon)
    log = app.query_one(LogPane)
    await pilot.press("p")
    for n in range(3):
        event = records.LogEvent(
            id=100 + n, ts="2026-11-22T10:09:00Z", component="sync", message="batch sent"
        )
        app.post_message(LogArrived(event))
    await until(pilot, lambda: "paused · 3 new" in str(log.border_title))


async def log_keys(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    """? on the main screen: the log's keys, then the app's."""
    await connected(pilot, app, daemon)
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def event_detail(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    """The integration event in full, 17 minutes after it happened."""
    await connected(pilot, app, daemon)
    log = app.query_one(LogPane)
    log.clock = lambda: datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
    await pilot.press("up", "up", "up", "enter")
    await until(pilot, lambda: isinstance(app.screen, EventScreen))


async def stores(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("t")
    await until(pilot, table_rows(app, 3))


async def orders(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("o")
    await until(pilot, table_rows(app, 3))


NO_SOCKET = "no socket there (is patchbayd running?)"


async def never_connected(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await until(pilot, lambda: "no socket there" in text_of(app.query_one(StatusPanel)))


async def routes_after_the_daemon_left(
    pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon
) -> None:
    await routes(pilot, app, daemon)
    daemon.go_away()
    await until(pilot, lambda: "disconnected" in text_of(app.screen.query_one("#feedback")))


SCENES: dict[str, Scene] = {
    "main": connected,
    "integrations": integrations,
    "connect": connect_form,
    "integration_detail": integration_detail,
    "help": help_keys,
    "syncs": syncs,
    "sync_detail": sync_detail,
    "sync_create": sync_create,
    "consent": consent,
    "routes": routes,
    "deliveries": deliveries,
    "inbox": inbox,
    "stores": stores,
    "orders": orders,
    "disconnected": never_connected,
    "disconnected-routes": routes_after_the_daemon_left,
    "log-filtered": log_filtered,
    "log-search": log_search,
    "log-paused": log_paused,
    "log-help": log_keys,
    "event": event_detail,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", list(SCENES))
def test_screen_snapshot(
    snap_compare: Callable[..., bool], scene: str, size: tuple[int, int]
) -> None:
    daemon = FakeDaemon(installation(), EVENTS, down=NO_SOCKET if scene == "disconnected" else None)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open, now=lambda: NOW)

    async def run_before(pilot: Pilot[None]) -> None:
        await SCENES[scene](pilot, app, daemon)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_every_screen_has_a_snapshot() -> None:
    """A new screen gets a scene here (the console's screens, by module)."""
    from importlib import resources

    modules = {
        p.name.removesuffix(".py")
        for p in resources.files("patchbay.tui.screens").iterdir()  # type: ignore[attr-defined]
        if p.name.endswith(".py") and p.name != "__init__.py"
    }
    # shared bases (form.py: the forms' result line and POST) and the yes/no question
    # (in the pilot tests), not screens of their own
    assert modules - {"live", "table_screen", "form", "confirm"} <= set(SCENES), modules
