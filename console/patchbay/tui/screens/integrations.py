"""Integrations: a card per integration and per provider not connected yet.

a connects (adds) the focused provider card, enter opens the focused integration's detail,
x disconnects it (after a confirmation), k checks its credentials now. The app refreshes
the cards every 3 s.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Header, Static

from .. import records
from ..messages import Feed, IntegrationsUpdated, RequestFailed
from ..widgets.integration_card import IntegrationCard
from .confirm import ConfirmScreen
from .connect import ConnectScreen
from .integration_detail import IntegrationDetailScreen, check_key
from .live import LiveScreen, footer

REFRESH_SECONDS = 3.0
FEED = Feed("/v1/integrations", IntegrationsUpdated.from_json, every=REFRESH_SECONDS)


class IntegrationsScreen(LiveScreen):
    DEFAULT_CSS = """
    IntegrationsScreen Grid { grid-size: 3; grid-gutter: 0 1; grid-rows: 6; height: auto;
                              padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open", "Detail"),
        Binding("a", "connect", "Add (connect)"),
        Binding("x", "disconnect", "Disconnect"),
        Binding("k", "check", "Check key"),
        Binding("right,down", "app.focus_next", "Next", show=False),
        Binding("left,up", "app.focus_previous", "Previous", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the daemon …", id="message")
        yield Grid(id="cards")
        yield Static("", id="feedback")
        yield footer()

    def feed(self) -> Feed:
        return FEED

    def on_mount(self) -> None:
        self.sub_title = "integrations"

    async def on_integrations_updated(self, message: IntegrationsUpdated) -> None:
        self.say("enter detail · a connect · x disconnect · k check key · arrows · esc back")
        grid = self.query_one("#cards", Grid)
        existing = {card.key: card for card in grid.query(IntegrationCard)}
        if [c.key for c in message.cards] == list(existing):
            for widget, card in zip(existing.values(), message.cards, strict=True):
                widget.show(card)
            return
        keys = list(existing)
        focused = self.focused.key if isinstance(self.focused, IntegrationCard) else None
        wanted = [IntegrationCard(c) for c in message.cards]
        await grid.remove_children()
        await grid.mount_all(wanted)
        if not wanted:
            return
        # the focused card again; if it is gone (disconnected), the one now in its place
        place = keys.index(focused) if focused in keys else 0
        next((w for w in wanted if w.key == focused), wanted[min(place, len(wanted) - 1)]).focus()

    def _focused_card(self) -> records.IntegrationCard | None:
        return self.focused.card if isinstance(self.focused, IntegrationCard) else None

    def action_open(self) -> None:
        card = self._focused_card()
        if card is None or card.id is None:
            self.tell(Text("focus an integration to see its detail", style="yellow"))
            return
        self.app.push_screen(IntegrationDetailScreen(card.id))

    def action_connect(self) -> None:
        card = self._focused_card()
        if card is None or not card.available:
            self.tell(Text("focus a provider marked available to connect it", style="yellow"))
            return
        spec = self.hub.providers.get(card.provider)
        if spec is None:
            self.tell(
                Text(
                    f"the daemon did not describe provider {card.provider}; "
                    "patchbay integrations connect can still",
                    style="bold red",
                )
            )
            return
        stores = [s.name for s in self.hub.status.stores] if self.hub.status else []

        def done(created: records.IntegrationCard | None) -> None:
            if created:
                self.tell(
                    Text(f"connected integration {created.id} ({created.provider})", style="green")
                )
                self.hub.refresh_feed()

        self.app.push_screen(ConnectScreen(spec, stores), done)

    def action_disconnect(self) -> None:
        card = self._focused_card()
        if card is None or card.id is None:
            self.tell(Text("focus an integration to disconnect it", style="yellow"))
            return
        integration_id = card.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(integration_id)

        self.app.push_screen(
            ConfirmScreen(
                f"Disconnect #{card.id} {card.provider} ({card.store})?\n"
                "Its traffic stops at once and its credentials are wiped."
            ),
            answered,
        )

    def action_check(self) -> None:
        card = self._focused_card()
        if card is None or card.id is None:
            self.tell(Text("focus an integration to check its key", style="yellow"))
            return
        self._check(card.id)

    @work(group="actions")
    async def _delete(self, integration_id: int) -> None:
        try:
            await self.hub.request("DELETE", f"/v1/integrations/{integration_id}")
        except RequestFailed as exc:
            self.tell(
                Text(
                    f"could not disconnect integration {integration_id}: {exc.message}",
                    style="bold red",
                )
            )
            return
        self.tell(
            Text(f"disconnected integration {integration_id}; credentials wiped", style="green")
        )
        self.hub.refresh_feed()

    @work(group="actions")
    async def _check(self, integration_id: int) -> None:
        await check_key(self, integration_id)
