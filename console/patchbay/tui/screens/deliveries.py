"""Deliveries: the outbox, newest first, filtered by status (f cycles the filter). The
highlighted delivery is shown in full below: a dead one with the provider's words and
its attempts. p replays it (after a confirmation). The app refreshes the list every two
seconds.
"""

from __future__ import annotations

import json

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Static

from .. import records
from ..messages import DeliveriesUpdated, Feed, RequestFailed
from .confirm import ConfirmScreen
from .table_screen import TableScreen

REFRESH_SECONDS = 2.0
FILTERS = (None, "pending", "retrying", "delivered", "dead")
STATUS_STYLES = {"delivered": "green", "retrying": "yellow", "dead": "bold red", "pending": ""}


class DeliveriesScreen(TableScreen[records.DeliveryRow]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("p", "replay", "Replay"),
    ]
    # tries before the long ones: at 80 columns the contact may be cut (the detail box
    # below has it whole), the count of tries is not
    COLUMNS: tuple[str, ...] = ("id", "status", "tries", "route", "event", "contact")
    DETAIL = "highlighted delivery"

    def __init__(self, route: int | None = None) -> None:
        super().__init__()
        self.route = route
        self.status: str | None = None
        if route is not None:  # one route's: its name would be the same on every row
            self.COLUMNS = tuple(c for c in self.COLUMNS if c != "route")

    def feed(self) -> Feed:
        params = (("status", self.status), ("route", self.route), ("limit", 200))
        return Feed(
            "/v1/deliveries",
            DeliveriesUpdated.from_json,
            every=REFRESH_SECONDS,
            params=tuple((k, v) for k, v in params if v is not None),
        )

    def on_mount(self) -> None:
        self.sub_title = "deliveries" + (f" of route {self.route}" if self.route else "")
        self._describe_filter()

    def _describe_filter(self) -> None:
        shown = self.status or "all"
        self.say(f"showing {shown} · f next filter · p replays the highlighted one · esc back")
        self.query_one(DataTable).border_title = f"deliveries: {shown}"

    def action_cycle_filter(self) -> None:
        self.status = FILTERS[(FILTERS.index(self.status) + 1) % len(FILTERS)]
        self._describe_filter()
        self.show_rows((), self.cells)
        self.hub.refresh_feed()

    def on_deliveries_updated(self, message: DeliveriesUpdated) -> None:
        self.show_rows(message.deliveries, self.cells)

    def cells(self, d: records.DeliveryRow) -> tuple[str | Text, ...]:
        one_route = self.route is not None  # no route column: the event gets its room
        route = () if one_route else (self.clip(d.route_name, 16),)
        return (
            str(d.id),
            Text(d.status, style=STATUS_STYLES.get(d.status, "")),
            str(d.attempts),
            *route,
            self.clip(d.event_type, 36 if one_route else 20),
            self.clip(d.contact, 32),
        )

    def detail(self, d: records.DeliveryRow | None) -> None:
        box = self.query_one("#detail", Static)
        if d is None:
            box.update("-")
            return
        text = Text(
            f"#{d.id} {d.kind} for {d.contact or '-'} to integration "
            f"{d.integration}, {d.attempts} attempts, key {d.key}\n"
        )
        if d.last_error:
            text.append(f"{d.last_error}\n", style="bold red" if d.status == "dead" else "yellow")
        text.append(json.dumps(d.payload, ensure_ascii=False)[:300], style="dim")
        box.update(text)

    def action_replay(self) -> None:
        chosen = self.highlighted()
        if chosen is None:
            self.tell(Text("no delivery to replay", style="yellow"))
            return
        if chosen.status not in ("dead", "delivered"):
            self.tell(
                Text(
                    f"delivery {chosen.id} is {chosen.status}: it is still being sent",
                    style="yellow",
                )
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._replay(chosen.id)

        self.app.push_screen(
            ConfirmScreen(
                f"Send delivery #{chosen.id} ({chosen.route_name}) again?\n"
                "Its stored payload, with the same idempotency key."
            ),
            answered,
        )

    @work(group="actions")
    async def _replay(self, delivery_id: int) -> None:
        try:
            await self.hub.request("POST", f"/v1/deliveries/{delivery_id}/replay")
        except RequestFailed as exc:
            self.tell(
                Text(f"replay of delivery {delivery_id} failed: {exc.message}", style="bold red")
            )
            return
        self.tell(Text(f"delivery {delivery_id} queued again", style="green"))
        self.hub.refresh_feed()
