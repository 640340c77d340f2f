"""Syncs: a card per sync with a live progress bar (rows/s, ETA) while it runs and the
last run's report.

enter opens the focused sync (its runs and failed contacts), g runs it now, x stops it,
a starts it again, + creates a sync (a form), del deletes the focused one (after a
confirmation). The app refreshes the cards every second while one runs (the bars move),
every 3 s otherwise.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from .. import records
from ..messages import Feed, RequestFailed, SyncsUpdated
from ..widgets.sync_card import SyncCard
from .confirm import ConfirmScreen
from .live import LiveScreen, footer
from .sync_create import SyncCreateScreen
from .sync_detail import SyncDetailScreen

RUNNING_SECONDS, IDLE_SECONDS = 1.0, 3.0
RUNNING = Feed("/v1/syncs", SyncsUpdated.from_json, every=RUNNING_SECONDS)
IDLE = Feed("/v1/syncs", SyncsUpdated.from_json, every=IDLE_SECONDS)


class SyncsScreen(LiveScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "open", "Open"),
        Binding("g", "act('run')", "Run now"),
        Binding("x", "act('stop')", "Stop"),
        Binding("a", "act('start')", "Start"),
        Binding("plus", "create", "New"),
        Binding("delete", "delete", "Delete"),
        Binding("down", "app.focus_next", "Next", show=False),
        Binding("up", "app.focus_previous", "Previous", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the daemon …", id="message")
        yield VerticalScroll(id="syncs")
        yield Static("", id="feedback")
        yield footer()

    _running = False  # a sync runs: refresh faster

    def feed(self) -> Feed:
        return RUNNING if self._running else IDLE

    def on_mount(self) -> None:
        self.sub_title = "syncs"

    async def on_syncs_updated(self, message: SyncsUpdated) -> None:
        syncs = message.syncs
        self._running = any(s.running or s.state == "running" for s in syncs)
        self.say(
            "enter open · g run now · x stop · a start · + new · del delete · esc back"
            if syncs
            else "no syncs yet: + creates one (or patchbay sync create) · esc back"
        )
        box = self.query_one("#syncs", VerticalScroll)
        cards = list(box.query(SyncCard))
        ids = [c.sync.id for c in cards]
        if ids == [s.id for s in syncs]:
            for card, sync in zip(cards, syncs, strict=True):
                card.show(sync)
            return
        focused = self.focused.sync.id if isinstance(self.focused, SyncCard) else None
        await box.remove_children()
        wanted = [SyncCard(s) for s in syncs]
        await box.mount_all(wanted)
        if not wanted:
            return
        # the focused card again; if it is gone (deleted), the one now in its place
        place = ids.index(focused) if focused in ids else 0
        next(
            (c for c in wanted if c.sync.id == focused), wanted[min(place, len(wanted) - 1)]
        ).focus()

    def _focused_sync(self) -> records.SyncRow | None:
        return self.focused.sync if isinstance(self.focused, SyncCard) else None

    def action_act(self, verb: str) -> None:
        sync = self._focused_sync()
        if sync is None:
            self.tell(Text("no sync to act on", style="yellow"))
            return
        self._act(sync.id, verb)

    def action_open(self) -> None:
        sync = self._focused_sync()
        if sync is None:
            self.tell(Text("no sync to open", style="yellow"))
            return
        self.app.push_screen(SyncDetailScreen(sync))

    def action_create(self) -> None:
        def done(created: records.SyncRow | None) -> None:
            if created is not None:
                self.tell(
                    Text(
                        f"sync {created.id} created ({created.mode}, segment {created.segment})",
                        style="green",
                    )
                )
                self.hub.refresh_feed()

        self.app.push_screen(SyncCreateScreen(), done)

    def action_delete(self) -> None:
        sync = self._focused_sync()
        if sync is None:
            self.tell(Text("no sync to delete", style="yellow"))
            return
        sync_id = sync.id

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(sync_id)

        destination = f" → {sync.list_name}" if sync.list_name else ""
        self.app.push_screen(
            ConfirmScreen(
                f"Delete sync {sync.id} (integration {sync.integration}, "
                f"{sync.segment}{destination})?\n"
                "It stops at once; what it sent stays at the destination."
            ),
            answered,
        )

    @work(group="actions")
    async def _act(self, sync_id: int, verb: str) -> None:
        try:
            await self.hub.request("POST", f"/v1/syncs/{sync_id}/{verb}")
        except RequestFailed as exc:
            self.tell(Text(f"sync {sync_id}: {verb} failed: {exc.message}", style="bold red"))
            return
        self.tell(Text(f"sync {sync_id}: {verb} requested", style="green"))
        self.hub.refresh_feed()

    @work(group="actions")
    async def _delete(self, sync_id: int) -> None:
        try:
            await self.hub.request("DELETE", f"/v1/syncs/{sync_id}")
        except RequestFailed as exc:
            self.tell(Text(f"could not delete sync {sync_id}: {exc.message}", style="bold red"))
            return
        self.tell(Text(f"sync {sync_id} deleted", style="green"))
        self.hub.refresh_feed()
