"""Inbox quarantine: incoming rows that could not be processed, each with its error, and
replay once the cause is fixed. The rows behind them were processed; nothing here blocks.

r replays the highlighted row; the list refreshes itself every few seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable

REFRESH_SECONDS = 3.0


class InboxScreen(Screen[None]):
    DEFAULT_CSS = """
    InboxScreen #message, InboxScreen #feedback { height: auto; padding: 0 1; }
    InboxScreen #detail { height: auto; padding: 0 1; border: round $secondary; }
    InboxScreen DataTable { height: 1fr; border: round $primary; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "replay", "Replay row"),
    ]

    def __init__(self, socket: Path) -> None:
        super().__init__()
        self.socket = socket
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="message")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail")  # the highlighted row in full: its error is the point
        yield Static("", id="feedback")  # the last action's outcome stays until the next
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "inbox quarantine"
        table = self.query_one(DataTable)
        table.border_title = "quarantined rows"
        table.add_columns("id", "store", "kind", "error")
        self.query_one("#detail", Static).border_title = "highlighted row"
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)

    def say(self, text: str | Text) -> None:
        self.query_one("#message", Static).update(text)

    @work(exclusive=True, group="refresh")
    async def refresh_rows(self) -> None:
        try:
            async with ControlClient(self.socket, timeout=5) as client:
                data = await client.get("/v1/inbox/quarantined")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.say(Text(str(exc), style="bold red"))
            return
        rows: list[dict[str, Any]] = data["items"]
        if rows != self.rows:
            self.rows = rows
            table = self.query_one(DataTable)
            cursor = table.cursor_row
            table.clear()
            for row in rows:
                table.add_row(str(row["id"]), Text(row["store"]), row["kind"],
                              Text(row["error"] or "", style="red"), key=str(row["id"]))
            if rows:
                table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
            self._detail(table.cursor_row)
        self.query_one(DataTable).border_title = f"quarantined rows ({data['count']})"
        if rows:
            rows_word = "row" if data["count"] == 1 else "rows"
            self.say(Text(f"{data['count']} incoming {rows_word} could not be processed (the "
                          "rows behind went on); fix the cause, then r replays one",
                          style="bold red"))
        else:
            self.say(Text("nothing quarantined: every incoming row was processed",
                          style="green"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, index: int) -> None:
        detail = self.query_one("#detail", Static)
        if not 0 <= index < len(self.rows):
            detail.update("-")
            return
        row = self.rows[index]
        text = Text(f"row {row['id']}: {row['kind']} from {row['source']} for store "
                    f"{row['store']}, received {row['received_at']}, quarantined "
                    f"{row['quarantined_at']}\n")
        text.append(str(row["error"]), style="bold red")
        detail.update(text)

    def tell(self, text: Text) -> None:
        self.query_one("#feedback", Static).update(text)

    def action_replay(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            self.tell(Text("no row to replay", style="yellow"))
            return
        self._replay(int(self.rows[table.cursor_row]["id"]))

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
