"""Orders: each integration's order ledger — sent, in doubt (sent, answer lost: the
provider's idempotency key makes a retry safe), failed, waiting — its newest export with
a progress bar (rate, ETA) while it runs, and the orders that need a look, with why.

e exports the highlighted integration's orders not sent yet (once); the app refreshes
the list every 3 s, every second while an export runs."""

from __future__ import annotations

from time import monotonic

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...render import Sample, ago, observe, order_export_bar, order_through, pace
from .. import records
from ..messages import Feed, OrdersUpdated, RequestFailed
from .table_screen import TableScreen

RUNNING = Feed("/v1/orders", OrdersUpdated.from_json, every=1.0)
IDLE = Feed("/v1/orders", OrdersUpdated.from_json, every=3.0)
EXPORT_STYLES = {"running": "yellow", "done": "green", "failed": "bold red"}
PROBLEMS_SHOWN = 3


def export_cell(report: records.OrderReport) -> Text:
    export = report.export
    if export is None:
        return Text("never", style="dim")
    state = str(export.get("state", "?"))
    if state == "running" and export.get("total"):
        share = order_through(dict(export)) / max(1, int(export["total"]))
        return Text(f"#{export.get('id')} {share:.0%}", style=EXPORT_STYLES[state])
    return Text(f"#{export.get('id')} {state}", style=EXPORT_STYLES.get(state, ""))


class OrdersScreen(TableScreen[records.OrderReport]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "export", "Export now"),
    ]
    COLUMNS = ("integration", "sent", "in doubt", "failed", "waiting", "export")
    DETAIL = "highlighted integration"
    DEFAULT_CSS = "OrdersScreen #detail { max-height: 9; }"

    def __init__(self) -> None:
        super().__init__()
        self._samples: dict[int, tuple[Sample, ...]] = {}  # export id -> its pace
        self._exporting = False

    def feed(self) -> Feed:
        return RUNNING if self._exporting else IDLE

    def on_mount(self) -> None:
        self.sub_title = "orders"
        self.query_one(DataTable).border_title = "order ledger by integration"

    def on_orders_updated(self, message: OrdersUpdated) -> None:
        reports = message.reports
        self._exporting = any(r.exporting for r in reports)
        for report in reports:
            if report.exporting and report.export is not None:
                key = int(report.export.get("id") or 0)
                done = order_through(dict(report.export))
                self._samples[key] = observe(self._samples.get(key, ()), monotonic(), done)
        self.show_rows(
            reports,
            lambda r: (
                self.clip(f"#{r.id} {r.provider} ({r.store or '?'})", 26),
                str(r.ledger.get("sent", 0)),
                Text(
                    str(r.ledger.get("in_doubt", 0)), "yellow" if r.ledger.get("in_doubt") else ""
                ),
                Text(str(r.ledger.get("failed", 0)), "bold red" if r.ledger.get("failed") else ""),
                str(r.ledger.get("queued", 0) + r.ledger.get("sending", 0)),
                export_cell(r),
            ),
            again=True,  # the bar and the ages move on
        )
        if not reports:
            self.say("no integrations: connect one (i, then a) to export orders to it")
        else:
            self.say("e export now (each order once) · ↑↓ choose · esc back")

    def detail(self, row: records.OrderReport | None) -> None:
        box = self.query_one("#detail", Static)
        if row is None:
            box.update("-")
            return
        text = Text()
        export = row.export
        if export is None:
            text.append("no export asked for yet: e exports what is not sent", "dim")
        elif row.exporting:
            found = pace(self._samples.get(int(export.get("id") or 0), ()), export.get("total"))
            text.append(f"export #{export.get('id')} running\n", "yellow")
            text.append(order_export_bar(dict(export), found))
        else:
            state = str(export.get("state", "?"))
            text.append(f"export #{export.get('id')} ", "")
            text.append(state, EXPORT_STYLES.get(state, ""))
            text.append(f" {ago(export.get('finished_at'), self.hub.now())}")
            if export.get("error"):
                text.append(f" — {export['error']}", "red")
        if not row.problems:
            text.append("\nno order needs a look", "green")
        for problem in row.problems[:PROBLEMS_SHOWN]:
            text.append(f"\n{problem.order} ", "bold")
            style = "bold red" if problem.state == "failed" else "yellow"
            text.append(problem.state.replace("_", " "), style)
            if problem.attempts:
                tries = "try" if problem.attempts == 1 else "tries"
                text.append(f" after {problem.attempts} {tries}")
            text.append(f": {problem.reason or '-'}")
        if len(row.problems) > PROBLEMS_SHOWN:
            more = len(row.problems) - PROBLEMS_SHOWN
            text.append(f"\n… {more} more: patchbay orders status {row.id}", "dim")
        box.update(text)

    def action_export(self) -> None:
        row = self.highlighted()
        if row is None:
            self.tell(Text("no integration to export to", style="yellow"))
            return
        self._export(row.id)

    @work(group="actions")
    async def _export(self, integration_id: int) -> None:
        try:
            started = await self.hub.request(
                "POST",
                f"/v1/integrations/{integration_id}/orders/export",
                body={"mode": "once"},
                parse=dict,
            )
        except RequestFailed as exc:
            self.tell(Text(f"export to {integration_id} failed: {exc.message}", style="bold red"))
            return
        again = " (it was already running)" if started.get("already_running") else ""
        self.tell(
            Text(f"order export #{started.get('id')} to {integration_id} started{again}", "green")
        )
        self._exporting = True
        self.hub.refresh_feed()
