"""Routes: each workflow with its on/off switch, what it delivered in the last hour, its
trigger and provider (in that order: at 80 columns what is cut is what the detail box
below shows whole). space switches the highlighted route on or off; d shows its
deliveries. The app refreshes the list every two seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Static

from .. import records
from ..messages import Feed, RequestFailed, RoutesUpdated
from .table_screen import TableScreen

REFRESH_SECONDS = 2.0
FEED = Feed("/v1/routes", RoutesUpdated.from_json, every=REFRESH_SECONDS)
HOUR_STYLES = (
    ("delivered", "green"),
    ("retrying", "yellow"),
    ("dead", "bold red"),
    ("pending", ""),
)


def hour_text(counts: Mapping[str, int]) -> Text:
    text = Text()
    for status, style in HOUR_STYLES:
        if counts.get(status):
            text.append(f"{status} {counts[status]} ", style=style)
    return text if text.plain else Text("-", style="dim")


class RoutesScreen(TableScreen[records.RouteRow]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("space", "switch", "On/off"),
        Binding("v", "deliveries", "View its deliveries"),
    ]
    COLUMNS = ("id", "name", "on", "last hour", "trigger", "provider")
    DETAIL = "highlighted route"

    def feed(self) -> Feed:
        return FEED

    def on_mount(self) -> None:
        self.sub_title = "routes"
        self.query_one(DataTable).border_title = "routes"

    def on_routes_updated(self, message: RoutesUpdated) -> None:
        self.show_rows(
            message.routes,
            lambda row: (
                str(row.id),
                self.clip(row.name, 24),
                Text("on", style="green") if row.enabled else Text("off", style="dim"),
                hour_text(row.last_hour),
                self.clip(row.trigger, 28),
                self.clip(row.provider, 12),
            ),
        )
        self.say(
            "space switches the highlighted route on/off · v its deliveries · esc back"
            if self.rows
            else "no routes yet: patchbay routes import FILE (the "
            "shipped examples: patchbay routes examples [--show NAME])"
        )

    def detail(self, row: records.RouteRow | None) -> None:
        box = self.query_one("#detail", Static)
        if row is None:
            box.update("-")
            return
        text = Text(f"route {row.id}: {row.name} ")
        text.append("(on)" if row.enabled else "(off)", style="green" if row.enabled else "dim")
        text.append(
            f"\n{row.trigger} → {row.provider}, stores "
            f"{', '.join(row.stores) or 'all'}\nlast hour: "
        )
        text.append_text(hour_text(row.last_hour))
        box.update(text)

    def action_switch(self) -> None:
        row = self.highlighted()
        if row is None:
            self.tell(Text("no route to switch", style="yellow"))
            return
        self._switch(row.id, not row.enabled)

    @work(group="actions")
    async def _switch(self, route_id: int, enabled: bool) -> None:
        verb = "enable" if enabled else "disable"
        try:
            await self.hub.request("POST", f"/v1/routes/{route_id}/{verb}")
        except RequestFailed as exc:
            self.tell(Text(f"could not {verb} route {route_id}: {exc.message}", style="bold red"))
            return
        self.tell(
            Text(
                f"route {route_id} {verb}d: events from now on "
                f"{'are' if enabled else 'are not'} routed",
                style="green",
            )
        )
        self.hub.refresh_feed()

    def action_deliveries(self) -> None:
        from .deliveries import DeliveriesScreen

        row = self.highlighted()
        self.app.push_screen(DeliveriesScreen(route=row.id if row else None))
