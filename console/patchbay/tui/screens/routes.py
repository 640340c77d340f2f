"""Routes: each workflow with its trigger, provider, on/off switch and what it delivered
in the last hour. space switches the highlighted route on or off; d shows its
deliveries. Refreshes itself every two seconds.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from .table_screen import TableScreen

REFRESH_SECONDS = 2.0
HOUR_STYLES = (("delivered", "green"), ("retrying", "yellow"), ("dead", "bold red"),
               ("pending", ""))


def hour_text(counts: dict[str, int]) -> Text:
    text = Text()
    for status, style in HOUR_STYLES:
        if counts.get(status):
            text.append(f"{status} {counts[status]} ", style=style)
    return text if text.plain else Text("-", style="dim")


class RoutesScreen(TableScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("space", "switch", "On/off"),
        Binding("d", "deliveries", "Deliveries"),
    ]
    COLUMNS = ("id", "name", "trigger", "provider", "on", "last hour")

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = "routes"
        self.query_one(DataTable).border_title = "routes"
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)

    @work(exclusive=True, group="refresh")
    async def refresh_rows(self) -> None:
        data = await self.fetch("/v1/routes")
        if data is None:
            return
        self.show_rows(data["routes"], lambda row: (
            str(row["id"]), Text(row["name"]), Text(row["trigger"]), row["provider"],
            Text("on", style="green") if row["enabled"] else Text("off", style="dim"),
            hour_text(row["last_hour"])))
        self.say("space switches the highlighted route on/off · d its deliveries · esc back"
                 if self.rows else "no routes yet: patchbay routes import FILE (the "
                 "shipped examples: patchbay routes examples [--show NAME])")

    def action_switch(self) -> None:
        row = self.highlighted()
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

        row = self.highlighted()
        self.app.push_screen(DeliveriesScreen(self.socket, route=row["id"] if row else None))
