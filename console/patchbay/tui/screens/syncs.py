"""Syncs: a card per sync with a live progress bar while it runs and the last run's report.

g runs the focused sync now, x stops it, a starts it again. The app refreshes the cards
every second.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from ..messages import Feed, RequestFailed, SyncsUpdated
from ..widgets.sync_card import SyncCard
from .live import LiveScreen, footer

REFRESH_SECONDS = 1.0
FEED = Feed("/v1/syncs", SyncsUpdated.from_json, every=REFRESH_SECONDS)


class SyncsScreen(LiveScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("g", "act('run')", "Go: run now"),
        Binding("x", "act('stop')", "Stop"),
        Binding("a", "act('start')", "Start"),
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the daemon …", id="message")
        yield VerticalScroll(id="syncs")
        yield Static("", id="feedback")
        yield footer()

    def feed(self) -> Feed:
        return FEED

    def on_mount(self) -> None:
        self.sub_title = "syncs"

    async def on_syncs_updated(self, message: SyncsUpdated) -> None:
        syncs = message.syncs
        self.say(
            "g run now · x stop · a start · ↑↓ choose · esc back"
            if syncs
            else "no syncs yet: patchbay sync create INTEGRATION --segment all …"
        )
        box = self.query_one("#syncs", VerticalScroll)
        cards = list(box.query(SyncCard))
        if [c.sync.id for c in cards] == [s.id for s in syncs]:
            for card, sync in zip(cards, syncs, strict=True):
                card.show(sync)
            return
        focused = self.focused.sync.id if isinstance(self.focused, SyncCard) else None
        await box.remove_children()
        wanted = [SyncCard(s) for s in syncs]
        await box.mount_all(wanted)
        target = next((c for c in wanted if c.sync.id == focused), wanted[0] if wanted else None)
        if target is not None:
            target.focus()

    def action_act(self, verb: str) -> None:
        if isinstance(self.focused, SyncCard):
            self._act(self.focused.sync.id, verb)
        else:
            self.tell(Text("no sync to act on", style="yellow"))

    @work(group="actions")
    async def _act(self, sync_id: int, verb: str) -> None:
        try:
            await self.hub.request("POST", f"/v1/syncs/{sync_id}/{verb}")
        except RequestFailed as exc:
            self.tell(Text(f"sync {sync_id}: {verb} failed: {exc.message}", style="bold red"))
            return
        self.tell(Text(f"sync {sync_id}: {verb} requested", style="green"))
        self.hub.refresh_feed()
