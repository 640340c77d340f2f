"""Inbox quarantine: incoming rows that could not be processed, each with its error, and
replay once the cause is fixed. The rows behind them were processed; nothing here blocks.

r replays the highlighted row; the list refreshes itself every few seconds.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from .table_screen import TableScreen

REFRESH_SECONDS = 3.0


class InboxScreen(TableScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "replay", "Replay row"),
    ]
    COLUMNS = ("id", "store", "kind", "error")
    DETAIL = "highlighted row"

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = "inbox quarantine"
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)

    @work(exclusive=True, group="refresh")
    async def refresh_rows(self) -> None:
        data = await self.fetch("/v1/inbox/quarantined")
        if data is None:
            return
        self.show_rows(data["items"], lambda row: (
            str(row["id"]), Text(row["store"]), row["kind"],
            Text(row["error"] or "", style="red")))
        self.query_one(DataTable).border_title = f"quarantined rows ({data['count']})"
        if self.rows:
            rows_word = "row" if data["count"] == 1 else "rows"
            self.say(Text(f"{data['count']} incoming {rows_word} could not be processed (the "
                          "rows behind went on); fix the cause, then r replays one",
                          style="bold red"))
        else:
            self.say(Text("nothing quarantined: every incoming row was processed",
                          style="green"))

    def detail(self, row: dict[str, Any] | None) -> None:
        box = self.query_one("#detail", Static)
        if row is None:
            box.update("-")
            return
        text = Text(f"row {row['id']}: {row['kind']} from {row['source']} for store "
                    f"{row['store']}, received {row['received_at']}, quarantined "
                    f"{row['quarantined_at']}\n")
        text.append(str(row["error"]), style="bold red")
        box.update(text)

    def action_replay(self) -> None:
        row = self.highlighted()
        if row is None:
            self.tell(Text("no row to replay", style="yellow"))
            return
        self._replay(int(row["id"]))

    @work(group="actions")
    async def _replay(self, inbox_id: int) -> None:
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                await client.post(f"/v1/inbox/{inbox_id}/replay")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.tell(Text(f"replay of row {inbox_id} failed: {exc}", style="bold red"))
            return
        self.tell(Text(f"row {inbox_id} queued for processing again; if it fails again it "
                       "comes back here with its error", style="green"))
        self.refresh_rows()
