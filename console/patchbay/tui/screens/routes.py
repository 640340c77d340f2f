"""Routes: each workflow with its trigger, provider, stores, on/off switch and what it
delivered in the last hour. space switches the highlighted route on or off; d shows its
deliveries. Refreshes itself every two seconds.
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

REFRESH_SECONDS = 2.0
HOUR_STYLES = (("delivered", "green"), ("retrying", "yellow"), ("dead", "bold red"),
               ("pending", ""))


def hour_text(counts: dict[str, int]) -> Text:
    text = Text()
    for status, style in HOUR_STYLES:
        if counts.get(status):
            text.append(f"{status} {counts[status]} ", style=style)
    return text if text.plain else Text("-", style="dim")


class RoutesScreen(Screen[None]):
    DEFAULT_CSS = """
    RoutesScreen #message, RoutesScreen #feedback { height: auto; padding: 0 1; }
    RoutesScreen DataTable { height: 1fr; border: round $primary; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("space", "switch", "On/off"),
        Binding("d", "deliveries", "Deliveries"),
    ]

    def __init__(self, socket: Path) -> None:
        super().__init__()
        self.socket = socket
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("loading …", id="message")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("", id="feedback")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "routes"
        table = self.query_one(DataTable)
        table.border_title = "routes"
        table.add_columns("id", "name", "trigger", "provider", "on", "last hour")
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)

    def tell(self, text: Text) -> None:
        self.query_one("#feedback", Static).update(text)

    @work(exclusive=True, group="refresh")
    async def refresh_rows(self) -> None:
        try:
            async with ControlClient(self.socket, timeout=5) as client:
                data = await client.get("/v1/routes")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.query_one("#message", Static).update(Text(str(exc), style="bold red"))
            return
        rows: list[dict[str, Any]] = data["routes"]
        self.query_one("#message", Static).update(
            "space switches the highlighted route on/off · d its deliveries · esc back"
            if rows else "no routes yet: patchbay routes import FILE (examples ship in the "
            "package: patchbayd/route_examples)")
        if rows == self.rows:
            return
        self.rows = rows
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(str(row["id"]), Text(row["name"]), Text(row["trigger"]),
                          row["provider"],
                          Text("on", style="green") if row["enabled"] else
                          Text("off", style="dim"), hour_text(row["last_hour"]),
                          key=str(row["id"]))
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))

    def _highlighted(self) -> dict[str, Any] | None:
        index = self.query_one(DataTable).cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def action_switch(self) -> None:
        row = self._highlighted()
        if row is None:
            self.tell(Text("no route to switch", style="yellow"))
            return
        self._switch(row["id"], not row["enabled"])

    @work(group="actions")
    async def _switch(self, route_id: int, enabled: bool) -> None:
        verb = "enable" if enabled else "disable"
        try:
            async with ControlClient(self.socket, timeout=10) as client:
                await client.post(f"/v1/routes/{route_id}/{verb}")
        except (ApiFailure, DaemonUnreachable) as exc:
            self.tell(Text(f"could not {verb} route {route_id}: {exc}", style="bold red"))
            return
        self.tell(Text(f"route {route_id} {verb}d: events from now on "
                       f"{'are' if enabled else 'are not'} routed", style="green"))
        self.refresh_rows()

    def action_deliveries(self) -> None:
        from .deliveries import DeliveriesScreen

        row = self._highlighted()
        self.app.push_screen(DeliveriesScreen(self.socket, route=row["id"] if row else None))
