"""Inbox quarantine: incoming rows that could not be processed, each with its error, and
replay once the cause is fixed. The rows behind them were processed; nothing here blocks.

p replays the highlighted row; the app refreshes the list every few seconds.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Static

from .. import records
from ..messages import Feed, QuarantineUpdated, RequestFailed
from .table_screen import TableScreen

REFRESH_SECONDS = 3.0
FEED = Feed("/v1/inbox/quarantined", QuarantineUpdated.from_json, every=REFRESH_SECONDS)


class InboxScreen(TableScreen[records.InboxRow]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("p", "replay", "Replay row"),
    ]
    COLUMNS = ("id", "store", "kind", "error")
    DETAIL = "highlighted row"

    def feed(self) -> Feed:
        return FEED

    def on_mount(self) -> None:
        self.sub_title = "inbox quarantine"
        self.query_one(DataTable).border_title = "quarantined rows"

    def on_quarantine_updated(self, message: QuarantineUpdated) -> None:
        quarantine = message.quarantine
        self.show_rows(
            quarantine.rows,
            lambda row: (
                str(row.id),
                self.clip(row.store, 20),
                self.clip(row.kind, 12),
                Text(row.error, style="red", no_wrap=True, overflow="ellipsis"),
            ),
        )
        self.query_one(DataTable).border_title = f"quarantined rows ({quarantine.count})"
        if self.rows:
            rows_word = "row" if quarantine.count == 1 else "rows"
            self.say(
                Text(
                    f"{quarantine.count} incoming {rows_word} failed; the rows behind "
                    "went on · fix the cause, p replays",
                    style="bold red",
                )
            )
        else:
            self.say(Text("nothing quarantined: every incoming row was processed", style="green"))

    def detail(self, row: records.InboxRow | None) -> None:
        box = self.query_one("#detail", Static)
        if row is None:
            box.update("-")
            return
        text = Text(
            f"row {row.id}: {row.kind} from {row.source} for store {row.store}, "
            f"received {row.received_at or '?'}, quarantined "
            f"{row.quarantined_at or '?'}\n"
        )
        text.append(row.error, style="bold red")
        box.update(text)

    def action_replay(self) -> None:
        row = self.highlighted()
        if row is None:
            self.tell(Text("no row to replay", style="yellow"))
            return
        self._replay(row.id)

    @work(group="actions")
    async def _replay(self, inbox_id: int) -> None:
        try:
            await self.hub.request("POST", f"/v1/inbox/{inbox_id}/replay")
        except RequestFailed as exc:
            self.tell(Text(f"replay of row {inbox_id} failed: {exc.message}", style="bold red"))
            return
        self.tell(
            Text(
                f"row {inbox_id} queued for processing again; if it fails again it "
                "comes back here with its error",
                style="green",
            )
        )
        self.hub.refresh_feed()
