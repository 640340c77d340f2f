"""The shape the live list screens share (routes, deliveries, inbox quarantine): a line
saying what is shown, a table refreshed from the daemon that keeps the cursor where it
was, an optional detail of the highlighted row, and feedback that stays until the next
action."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable


class TableScreen(Screen[None]):
    DEFAULT_CSS = """
    TableScreen #message, TableScreen #feedback { height: auto; padding: 0 1; }
    TableScreen DataTable { height: 1fr; border: round $primary; }
    TableScreen #detail { height: auto; max-height: 8; padding: 0 1;
                          border: round $secondary; }
    """
    COLUMNS: tuple[str, ...] = ()
    DETAIL: str | None = None  # the detail box's title; None: no detail box

    def __init__(self, socket: Path) -> None:
        super().__init__()
        self.socket = socket
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="message")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        if self.DETAIL:
            yield Static("-", id="detail")
        yield Static("", id="feedback")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*self.COLUMNS)
        if self.DETAIL:
            self.query_one("#detail", Static).border_title = self.DETAIL

    async def fetch(self, path: str, **params: Any) -> Any:
        """GET from the daemon; on failure None, and the failure shown in red (the list
        keeps its last rows: stale beats empty)."""
        try:
            async with ControlClient(self.socket, timeout=5) as client:
                return await client.get(path, **params)
        except (ApiFailure, DaemonUnreachable) as exc:
            self.tell(Text(str(exc), style="bold red"))
            return None

    def say(self, text: str | Text) -> None:
        self.query_one("#message", Static).update(text)

    def tell(self, text: Text) -> None:
        self.query_one("#feedback", Static).update(text)

    def show_rows(self, rows: list[dict[str, Any]],
                  cells: Callable[[dict[str, Any]], Sequence[str | Text]]) -> None:
        """Put `rows` in the table (cells from outside go as Text, never markup), the
        cursor where it was; nothing is redrawn when nothing changed."""
        if rows == self.rows:
            return
        self.rows = rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*cells(row), key=str(row["id"]))
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
        self.detail(self.highlighted())

    def highlighted(self) -> dict[str, Any] | None:
        index = self.query_one(DataTable).cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = event.cursor_row
        self.detail(self.rows[index] if 0 <= index < len(self.rows) else None)

    def detail(self, row: dict[str, Any] | None) -> None:
        """Show the highlighted row in the detail box (screens with one override this)."""
