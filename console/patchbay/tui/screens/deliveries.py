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
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from .confirm import ConfirmScreen
from .table_screen import TableScreen

REFRESH_SECONDS = 2.0
FILTERS = (None, "pending", "retrying", "delivered", "dead")
STATUS_STYLES = {"delivered": "green", "retrying": "yellow", "dead": "bold red",
                 "pending": ""}


class DeliveriesScreen(TableScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("r", "replay", "Replay"),
    ]
    COLUMNS = ("id", "status", "route", "event", "contact", "tries")
    DETAIL = "highlighted delivery"

    def __init__(self, socket: Path, route: int | None = None) -> None:
        super().__init__(socket)
        self.route = route
        self.status: str | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = "deliveries" + (f" of route {self.route}" if self.route else "")
        self._describe_filter()
        self.refresh_rows()
        self.set_interval(REFRESH_SECONDS, self.refresh_rows)

    def _describe_filter(self) -> None:
        shown = self.status or "all"
        self.say(f"showing: {shown} (f cycles all/pending/retrying/delivered/dead) · "
                 "r replays the highlighted one · esc back")
        self.query_one(DataTable).border_title = f"deliveries: {shown}"

    def action_cycle_filter(self) -> None:
        self.status = FILTERS[(FILTERS.index(self.status) + 1) % len(FILTERS)]
        self._describe_filter()
        self.rows = []
        self.refresh_rows()

    @work(exclusive=True, group="refresh")
    async def refresh_rows(self) -> None:
        data = await self.fetch("/v1/deliveries", status=self.status, route=self.route,
                                limit=200)
        if data is None:
            return
        self.show_rows(data["deliveries"], lambda d: (
            str(d["id"]), Text(d["status"], style=STATUS_STYLES[d["status"]]),
            Text(d["route_name"]), Text(d["event_type"]), Text(d["contact"]),
            str(d["attempts"])))

    def detail(self, d: dict[str, Any] | None) -> None:
        box = self.query_one("#detail", Static)
        if d is None:
            box.update("-")
            return
        text = Text(f"#{d['id']} {d['kind']} to integration {d['integration']}, "
                    f"{d['attempts']} attempts, key {d['key']}\n")
        if d["last_error"]:
            text.append(f"{d['last_error']}\n", style="bold red" if d["status"] == "dead"
                        else "yellow")
        text.append(json.dumps(d["payload"], ensure_ascii=False)[:300], style="dim")
        box.update(text)

    def action_replay(self) -> None:
        chosen = self.highlighted()
        if chosen is None:
            self.tell(Text("no delivery to replay", style="yellow"))
            return
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
