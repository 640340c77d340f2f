"""`patchbay console`: a Textual app over the control socket.

One worker owns the connection: it reads the status, follows the event log, and when the
daemon goes away shows why and retries until it is back. Screens only render.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from ..client import ApiFailure, ControlClient, DaemonUnreachable
from .widgets.log_pane import LogPane
from .widgets.status_panel import StatusPanel

STATUS_EVERY = 2.0


class PatchbayApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "patchbay"
    BINDINGS = [
        Binding("q", "quit", "Quit", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("i", "integrations", "Integrations"),
        Binding("s", "syncs", "Syncs"),
        Binding("c", "consent", "Consent"),
        Binding("r", "routes", "Routes"),
        Binding("d", "deliveries", "Deliveries"),
        Binding("n", "inbox", "Inbox"),
        Binding("l", "cycle_level", "Log level", show=False),
    ]

    def __init__(self, socket: Path, reconnect_delay: float = 1.0) -> None:
        super().__init__()
        self.socket = socket
        self.reconnect_delay = reconnect_delay
        self.connected = False
        self._last_event_id = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusPanel(id="status")
        yield LogPane(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StatusPanel).show_disconnected(str(self.socket), "connecting …")
        self.run_worker(self._watch_daemon(), exclusive=True, group="connection")

    def action_integrations(self) -> None:
        from .screens.integrations import IntegrationsScreen

        if not isinstance(self.screen, IntegrationsScreen):
            self.push_screen(IntegrationsScreen(self.socket))

    def action_syncs(self) -> None:
        from .screens.syncs import SyncsScreen

        if not isinstance(self.screen, SyncsScreen):
            self.push_screen(SyncsScreen(self.socket))

    def action_consent(self) -> None:
        from .screens.consent import ConsentScreen

        if not isinstance(self.screen, ConsentScreen):
            self.push_screen(ConsentScreen(self.socket))

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen, list(self.BINDINGS)))

    def action_routes(self) -> None:
        from .screens.routes import RoutesScreen

        if not isinstance(self.screen, RoutesScreen):
            self.push_screen(RoutesScreen(self.socket))

    def action_deliveries(self) -> None:
        from .screens.deliveries import DeliveriesScreen

        if not isinstance(self.screen, DeliveriesScreen):
            self.push_screen(DeliveriesScreen(self.socket))

    def action_inbox(self) -> None:
        from .screens.inbox import InboxScreen

        if not isinstance(self.screen, InboxScreen):
            self.push_screen(InboxScreen(self.socket))

    def action_cycle_level(self) -> None:
        self.query_one(LogPane).cycle_level()

    async def _watch_daemon(self) -> None:
        while True:
            reason = "the daemon closed the connection"
            try:
                async with ControlClient(self.socket, timeout=5.0) as client:
                    await self._follow(client)
            except DaemonUnreachable as exc:
                reason = exc.reason
            except (ApiFailure, httpx.HTTPError) as exc:
                reason = str(exc) or type(exc).__name__
            self.connected = False
            self.sub_title = "disconnected"
            self.query_one(StatusPanel).show_disconnected(str(self.socket), reason)
            await asyncio.sleep(self.reconnect_delay)

    async def _follow(self, client: ControlClient) -> None:
        self._show_status(await client.get("/v1/status"))
        self.connected = True
        poller = asyncio.create_task(self._poll_status(client))
        try:
            async for event in client.stream("/v1/log", follow=1, backlog=200,
                                             after=self._last_event_id):
                self._last_event_id = event["id"]
                self.query_one(LogPane).add_event(event)
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    async def _poll_status(self, client: ControlClient) -> None:
        while True:
            await asyncio.sleep(STATUS_EVERY)
            with contextlib.suppress(DaemonUnreachable, ApiFailure, httpx.HTTPError):
                self._show_status(await client.get("/v1/status"))

    def _show_status(self, status: dict[str, Any]) -> None:
        self.query_one(StatusPanel).show_status(status)
        self.sub_title = f"{status['state']} · {status['listen']}"
