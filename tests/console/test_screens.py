"""Snapshots of every screen from fake data (tests/console/fake.py), no daemon running: at
80x24, the smallest terminal the console is made for, and at 160x48.

After a deliberate change to the look: `pytest tests/console --snapshot-update`, then
look at each changed SVG before committing it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from patchbay.tui.app import PatchbayApp
from patchbay.tui.screens.connect import ConnectScreen
from patchbay.tui.screens.help import HelpScreen
from patchbay.tui.widgets.integration_card import IntegrationCard
from patchbay.tui.widgets.log_pane import LogPane
from patchbay.tui.widgets.status_panel import StatusPanel
from patchbay.tui.widgets.sync_card import SyncCard
from tests.console.fake import EVENTS, SOCKET, FakeDaemon, installation

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]

Scene = Callable[[Pilot[None], PatchbayApp, FakeDaemon], Awaitable[None]]


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached in time")


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


async def help_keys(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await integrations(pilot, app, daemon)
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def syncs(pilot: Pilot[None], app: PatchbayApp, daemon: FakeDaemon) -> None:
    await connected(pilot, app, daemon)
    await pilot.press("s")
    await until(pilot, lambda: len(app.screen.query(SyncCard)) == 3)


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
    "help": help_keys,
    "syncs": syncs,
    "consent": consent,
    "routes": routes,
    "deliveries": deliveries,
    "inbox": inbox,
    "disconnected": never_connected,
    "disconnected-routes": routes_after_the_daemon_left,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", list(SCENES))
def test_screen_snapshot(
    snap_compare: Callable[..., bool], scene: str, size: tuple[int, int]
) -> None:
    daemon = FakeDaemon(installation(), EVENTS, down=NO_SOCKET if scene == "disconnected" else None)
    app = PatchbayApp(SOCKET, reconnect_delay=60, open_client=daemon.open)

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
    # shared bases and the yes/no question (in the pilot tests), not screens of their own
    assert modules - {"live", "table_screen", "confirm"} <= set(SCENES), modules
