"""Stores: each store's health, what came in from it and when, and what waits — the first
place to look when contacts stop flowing (is it the store, or what comes after?).

The app refreshes the list every 5 s (it counts rows, so not more often)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...render import ago
from .. import records
from ..messages import Feed, StoresUpdated
from .table_screen import TableScreen

REFRESH_SECONDS = 5.0
FEED = Feed("/v1/stores", StoresUpdated.from_json, every=REFRESH_SECONDS)
HEALTH_STYLES = {"ok": "green", "connecting": "yellow", "error": "bold red"}


class StoresScreen(TableScreen[records.StoreRow]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    COLUMNS = ("store", "health", "last in", "customers", "orders", "waiting", "quar.")
    DETAIL = "highlighted store"

    def feed(self) -> Feed:
        return FEED

    def on_mount(self) -> None:
        self.sub_title = "stores"
        self.query_one(DataTable).border_title = "stores"

    def on_stores_updated(self, message: StoresUpdated) -> None:
        now = self.hub.now()
        self.show_rows(
            message.stores,
            lambda row: (
                self.clip(f"{row.name} ({row.kind})", 22),
                Text(row.state or "?", style=HEALTH_STYLES.get(row.state or "", "")),
                ago(row.last_received_at, now) if row.last_received_at else "nothing yet",
                str(row.customers),
                str(row.orders),
                Text(str(row.pending), style="yellow" if row.pending else ""),
                Text(str(row.quarantined), style="bold red" if row.quarantined else ""),
            ),
            again=True,  # the ages move on
        )
        broken = [s.name for s in message.stores if s.state == "error" or s.quarantined]
        if broken:
            self.say(Text(f"needs a look: {', '.join(broken)} · ↑↓ choose", style="bold red"))
        else:
            self.say("every store healthy · ↑↓ choose · esc back")

    def detail(self, row: records.StoreRow | None) -> None:
        box = self.query_one("#detail", Static)
        if row is None:
            box.update("no stores configured: add one under [stores.NAME] in the config")
            return
        now = self.hub.now()
        text = Text()
        text.append(f"{row.name}: ")
        text.append(row.state or "?", HEALTH_STYLES.get(row.state or "", ""))
        if row.reason:
            text.append(f" — {row.reason}", "red")
        if row.kind == "shopify":
            text.append(f"\nchecked {ago(row.checked_at, now)}")
            text.append(f" · import saved {ago(row.import_saved_at, now)}")
            text.append(f"\nwebhooks to {row.webhooks or '-'}", "dim")
        else:
            text.append("\npushes to /ingest/" + row.name + "/…", "dim")
        if row.last_received_at:
            source = f" (from {row.last_received_from})" if row.last_received_from else ""
            text.append(f"\nlast row came in {ago(row.last_received_at, now)}{source}")
        else:
            text.append("\nnothing came in yet")
        text.append(f" · {row.events} loyalty events")
        box.update(text)
