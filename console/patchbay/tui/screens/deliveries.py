"""Deliveries: the outbox, newest first, filtered by status (f cycles the filter). The
highlighted delivery is shown in full below: a dead one with the provider's words and
its attempts. r replays it (after a confirmation). Refreshes itself every two seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from .confirm import ConfirmScreen

REFRESH_SECONDS = 2.0
FILTERS = (None, "pending", "retrying", "delivered", "dead")
STATUS_STYLES = {"delivered": "green", "retrying": "yellow", "dead": "bold red",
                 "pending": ""}


class DeliveriesScreen(Screen[None]):
    DEFAULT_CSS = """
    DeliveriesScreen #message, DeliveriesScreen #feedback { height: auto; padding: 0 1; }
    DeliveriesScreen DataTable { height: 1fr; border: round $primary; }
    DeliveriesScreen #detail { height: auto; max-height: 8; padding: 0 1;
                               border: round $secondary; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("r", "replay", "Replay"),
    ]

    def __init__(self, socket: Path, route: int | None = None) -> None:
        super().__init__()
        self.socket, self.route = socket, route
        self.status: str | None = None
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="message")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("-", id="detail")
        yield Static("", id="feedback")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "deliveries" + (f" of route {self.route}" if self.route else "")
        self.query_one("#detail", Static).border_title = "highlighted delivery"
        self.query_one(DataTable).add_columns("id", "status", "route", "event", "contact",
                                              "tries")
        self._describe_filter()
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)

    def _describe_filter(self) -> None:
        shown = self.status or "all"
        self.query_one("#message", Static).update(
            f"showing: {shown} (f cycles all/pending/retrying/delivered/dead) · "
            "r replays the highlighted one · esc back")
        self.query_one(DataTable).border_title = f"deliveries: {shown}"

    def tell(self, text: Text) -> None:
        self.query_one("#feedback", Static).update(text)

    def action_cycle_filter(self) -> None:
        self.status = FILTERS[(FILTERS.index(self.status) + 1) % len(FILTERS)]
        self._describe_filter()
        self.rows = []
        self.refresh_rows()

    @work(exclusive=True, group="refresh")
    async def refresh_rows(self) -> None:
        params = {"status": self.status, "route": self.route, "limit": 200}
        try:
            async with ControlClient(self.socket, timeout=5) as client:
                data = await client.get("/v1/deliveries", **params)
        except (ApiFailure, DaemonUnreachable) as exc:
            self.tell(Text(str(exc), style="bold red"))
            return
        rows: list[dict[str, Any]] = data["deliveries"]
        if rows == self.rows:
            return
        self.rows = rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for d in rows:
            # Text, never str: an event type or address from outside is not markup.
            table.add_row(str(d["id"]), Text(d["status"], style=STATUS_STYLES[d["status"]]),
                          Text(d["route_name"]), Text(d["event_type"]), Text(d["contact"]),
                          str(d["attempts"]), key=str(d["id"]))
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
        self._detail(table.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, index: int) -> None:
        detail = self.query_one("#detail", Static)
        if not 0 <= index < len(self.rows):
            detail.update("-" if not self.rows else "")
            return
        d = self.rows[index]
        text = Text(f"#{d['id']} {d['kind']} to integration {d['integration']}, "
                    f"{d['attempts']} attempts, key {d['key']}\n")
        if d["last_error"]:
            text.append(f"{d['last_error']}\n", style="bold red" if d["status"] == "dead"
                        else "yellow")
        text.append(json.dumps(d["payload"], ensure_ascii=False)[:300], style="dim")
        detail.update(text)

    def action_replay(self) -> None:
        index = self.query_one(DataTable).cursor_row
        if not 0 <= index < len(self.rows):
            self.tell(Text("no delivery to replay", style="yellow"))
            return
        chosen = self.rows[index]
        if chosen["status"] not in ("dead", "delivered"):
            self.tell(Text(f"delivery {chosen['id']} is {chosen['status']}: it is still "
                           "being sent", style="yellow"))
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._replay(chosen["id"])

        self.app.push_screen(ConfirmScreen(
            f"Send delivery #{chosen['id']} ({chosen['route_name']}) again?\n"
            "Its stored payload, with the same idempotency key."), answered)

    @work(group="actions")
    async def _replay(self, delivery_id: int) -> None:
        try:
            async with ControlClient(self.socket, timeout=10) as client:
                await client.post(f"/v1/deliveries/{delivery_id}/replay")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.tell(Text(f"replay of delivery {delivery_id} failed: {exc}",
                           style="bold red"))
            return
        self.tell(Text(f"delivery {delivery_id} queued again", style="green"))
        self.refresh_rows()
