"""Syncs: a card per sync with a live progress bar while it runs and the last run's report.

r runs the focused sync now, s stops it, a starts it again. Refreshes itself every second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from ..widgets.sync_card import SyncCard

REFRESH_SECONDS = 1.0


class SyncsScreen(Screen[None]):
    DEFAULT_CSS = """
    SyncsScreen #message { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "act('run')", "Run now"),
        Binding("s", "act('stop')", "Stop"),
        Binding("a", "act('start')", "Start"),
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    def __init__(self, socket: Path) -> None:
        super().__init__()
        self.socket = socket

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="message")
        yield VerticalScroll(id="syncs")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "syncs"
        self.refresh_syncs()
        self.set_interval(REFRESH_SECONDS, self.refresh_syncs)

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    @work(exclusive=True, group="refresh")
    async def refresh_syncs(self) -> None:
        try:
            async with ControlClient(self.socket, timeout=5) as client:
                data = await client.get("/v1/syncs")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.say(f"[red]{exc}[/]")
            return
        syncs: list[dict[str, Any]] = data["syncs"]
        self.say("r run now · s stop · a start · esc back" if syncs else
                 "no syncs yet: patchbay sync create INTEGRATION --segment all …")
        box = self.query_one("#syncs", VerticalScroll)
        cards = list(box.query(SyncCard))
        if [c.sync["id"] for c in cards] == [s["id"] for s in syncs]:
            for card, sync in zip(cards, syncs, strict=True):
                card.show(sync)
            return
        await box.remove_children()
        await box.mount_all([SyncCard(s) for s in syncs])
        if syncs:
            box.query(SyncCard).first().focus()

    def action_act(self, verb: str) -> None:
        if isinstance(self.focused, SyncCard):
            self._act(self.focused.sync["id"], verb)

    @work(group="actions")
    async def _act(self, sync_id: int, verb: str) -> None:
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                await client.post(f"/v1/syncs/{sync_id}/{verb}")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.say(f"[red]{exc}[/]")
            return
        self.say(f"sync {sync_id}: {verb} requested")
        self.refresh_syncs()
