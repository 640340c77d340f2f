"""Integrations: a card per integration and per provider not connected yet.

c connects the focused provider card, d disconnects the focused integration (after a
confirmation), k checks its credentials now. The list refreshes itself every 2 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from ..widgets.integration_card import IntegrationCard
from .confirm import ConfirmScreen
from .connect import ConnectScreen

REFRESH_SECONDS = 2.0


class IntegrationsScreen(Screen[None]):
    DEFAULT_CSS = """
    IntegrationsScreen Grid { grid-size: 3; grid-gutter: 0 1; height: auto; padding: 0 1; }
    IntegrationsScreen #message { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "connect", "Connect"),
        Binding("d", "disconnect", "Disconnect"),
        Binding("k", "check", "Check key"),
        Binding("right,down", "app.focus_next", "Next", show=False),
        Binding("left,up", "app.focus_previous", "Previous", show=False),
    ]

    def __init__(self, socket: Path) -> None:
        super().__init__()
        self.socket = socket
        self.providers: dict[str, dict[str, Any]] = {}
        self.stores: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="message")
        yield Grid(id="cards")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "integrations"
        self.refresh_cards()
        self.set_interval(REFRESH_SECONDS, self.refresh_cards)

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    @work(exclusive=True, group="refresh")
    async def refresh_cards(self) -> None:
        try:
            async with ControlClient(self.socket, timeout=5) as client:
                if not self.providers:
                    listing = await client.get("/v1/providers")
                    self.providers = {p["name"]: p for p in listing["providers"]}
                    status = await client.get("/v1/status")
                    self.stores = [s["name"] for s in status["stores"]]
                data = await client.get("/v1/integrations")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.say(f"[red]{exc}[/]")
            return
        self.say("c connect · d disconnect · k check key · esc back")
        await self._show(data["cards"])

    async def _show(self, cards: list[dict[str, Any]]) -> None:
        grid = self.query_one("#cards", Grid)
        existing = {card.key: card for card in grid.query(IntegrationCard)}
        wanted = [IntegrationCard(c) for c in cards]
        if [w.key for w in wanted] == list(existing):
            for widget, card in zip(existing.values(), cards, strict=True):
                widget.show(card)
            return
        focused = self.focused.key if isinstance(self.focused, IntegrationCard) else None
        await grid.remove_children()
        await grid.mount_all(wanted)
        target = next((w for w in wanted if w.key == focused), wanted[0] if wanted else None)
        if target is not None:
            target.focus()

    def _focused_card(self) -> dict[str, Any] | None:
        return self.focused.card if isinstance(self.focused, IntegrationCard) else None

    def action_connect(self) -> None:
        card = self._focused_card()
        if card is None or card["card"] != "available":
            self.say("focus a provider marked available to connect it")
            return

        def done(created: dict[str, Any] | None) -> None:
            if created:
                self.say(f"connected integration {created['id']} ({created['provider']})")
                self.refresh_cards()

        self.app.push_screen(ConnectScreen(self.socket, self.providers[card["provider"]],
                                           self.stores), done)

    def action_disconnect(self) -> None:
        card = self._focused_card()
        if card is None or card["card"] != "integration":
            self.say("focus an integration to disconnect it")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(card["id"])

        self.app.push_screen(ConfirmScreen(
            f"Disconnect #{card['id']} {card['provider']} ({card['store']})?\n"
            "Its traffic stops at once and its credentials are wiped."), answered)

    def action_check(self) -> None:
        card = self._focused_card()
        if card is not None and card["card"] == "integration":
            self._check(card["id"])

    @work(group="actions")
    async def _delete(self, integration_id: int) -> None:
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                await client.delete(f"/v1/integrations/{integration_id}")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.say(f"[red]{exc}[/]")
            return
        self.say(f"disconnected integration {integration_id}; credentials wiped")
        self.refresh_cards()

    @work(group="actions")
    async def _check(self, integration_id: int) -> None:
        self.say(f"checking integration {integration_id} …")
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                data = await client.post(f"/v1/integrations/{integration_id}/check")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.say(f"[red]{exc}[/]")
            return
        self.say(f"integration {integration_id}: {data['state']} {data.get('reason') or ''}")
        self.refresh_cards()
