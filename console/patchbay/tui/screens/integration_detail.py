"""One integration up close (Enter on its card): what it is connected as, how much of its
rate limit it uses now, the URLs to give the provider for consent callbacks, its audit
trail and its recent warnings and errors — what an operator needs when it misbehaves.

k checks the key now; 1, 2 and 3 show the problems, the audit trail and the callback
URLs; esc goes back. The app refreshes it every 2 s."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from ...render import ago, event_fields, rate_use
from .. import records
from ..messages import Feed, IntegrationDetailUpdated, RequestFailed
from ..widgets.integration_card import STATE_STYLES
from .live import LiveScreen, footer
from .table_screen import clip

REFRESH_SECONDS = 2.0
LEVEL_STYLES = {"warning": "yellow", "error": "bold red"}


def facts(detail: records.IntegrationDetail, now: datetime) -> Text:
    """The lines above the tables, labels aligned: state first (with its reason: what
    matters in error), then what it is connected as, its limit, and its settings."""
    card = detail.card
    state = Text(card.state, STATE_STYLES.get(card.state, ""))
    if card.reason:
        state.append(f" — {card.reason}", "red")
    activity = (
        Text(f"{card.last_activity} · {ago(card.last_activity_at, now)}")
        if card.last_activity
        else Text("none yet", "dim")
    )
    lines = [
        ("state", state),
        ("store", Text(f"{card.store or '?'} · account {card.account or '-'}")),
        ("key", Text(detail.fingerprint or "-")),
        ("limit", Text(rate_use(dict(detail.rate)))),
        ("activity", activity),
        *((name.replace("_", " "), Text(str(value))) for name, value in detail.settings.items()),
    ]
    width = max(len(label) for label, _ in lines)
    text = Text()
    for number, (label, value) in enumerate(lines):
        text.append(("\n" if number else "") + f"{label:<{width}}  ", "bold")
        text.append(value)
    return text


def callbacks(detail: records.IntegrationDetail) -> Text:
    """Whole, on lines of their own: they are copied into the provider's settings."""
    text = Text("The provider's consent callbacks ($email$: its placeholder):", "dim")
    text.append("\nopt-in", "bold")
    text.append(f"\n{detail.opt_in_url or '-'}")
    text.append("\nopt-out", "bold")
    text.append(f"\n{detail.opt_out_url or '-'}")
    return text


class IntegrationDetailScreen(LiveScreen):
    DEFAULT_CSS = """
    IntegrationDetailScreen #facts { height: auto; padding: 0 1; border: round $secondary; }
    IntegrationDetailScreen TabbedContent { height: 1fr; }
    IntegrationDetailScreen DataTable { height: 1fr; }
    IntegrationDetailScreen #callback-urls { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("k", "check", "Check key"),
        Binding("1", "tab('problems')", "Problems"),
        Binding("2", "tab('audit')", "Audit"),
        Binding("3", "tab('callbacks')", "Callbacks"),
    ]

    def __init__(self, integration_id: int) -> None:
        super().__init__()
        self.integration_id = integration_id
        self.detail: records.IntegrationDetail | None = None
        self._feed = Feed(
            f"/v1/integrations/{integration_id}",
            IntegrationDetailUpdated.from_json,
            every=REFRESH_SECONDS,
        )

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the daemon …", id="message")
        yield Static("", id="facts")
        with TabbedContent(id="tabs"):
            with TabPane("Problems", id="problems"):
                yield DataTable(id="problems-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Audit trail", id="audit"):
                yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Callback URLs", id="callbacks"):
                yield Static("", id="callback-urls")
        yield Static("", id="feedback")
        yield footer()

    def feed(self) -> Feed:
        return self._feed

    def on_mount(self) -> None:
        self.sub_title = f"integration {self.integration_id}"
        self.query_one("#facts", Static).border_title = f"integration #{self.integration_id}"
        self.query_one("#problems-table", DataTable).add_columns("when", "level", "what")
        self.query_one("#audit-table", DataTable).add_columns("when", "action", "detail")

    def on_integration_detail_updated(self, message: IntegrationDetailUpdated) -> None:
        detail, first = message.detail, self.detail is None
        self.detail = detail  # drawn again even when unchanged: the ages move on
        now = self.hub.now()
        self.say("k check key · 1 problems · 2 audit trail · 3 callback URLs · esc back")
        box = self.query_one("#facts", Static)
        box.border_title = f"integration #{detail.card.id} {detail.card.provider}"
        box.update(facts(detail, now))
        self.query_one("#callback-urls", Static).update(callbacks(detail))
        wide = max(80, self.size.width) - 36
        problems = self.query_one("#problems-table", DataTable)
        at = problems.cursor_row
        problems.clear()
        for event in reversed(detail.problems):  # newest first, like the audit trail
            fields = {k: v for k, v in event.fields.items() if k != "integration"}
            what = f"{event.message} {event_fields(fields)}".strip()
            problems.add_row(
                ago(event.ts, now),
                Text(event.level, LEVEL_STYLES.get(event.level, "")),
                clip(what, wide),
            )
        problems.move_cursor(row=at)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("problems").label = f"Problems ({len(detail.problems)})"
        audit = self.query_one("#audit-table", DataTable)
        at = audit.cursor_row
        audit.clear()
        for entry in detail.audit:
            audit.add_row(
                ago(entry.ts, now),
                entry.action,
                clip(event_fields(dict(entry.detail)), wide),
            )
        audit.move_cursor(row=at)
        if first and not detail.problems:
            tabs.active = "audit"  # nothing wrong: show what happened instead

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    def action_check(self) -> None:
        self._check()

    @work(group="actions")
    async def _check(self) -> None:
        await check_key(self, self.integration_id)


async def check_key(screen: LiveScreen, integration_id: int) -> None:
    """Check an integration's key now and say how it went, in red when it did not pass
    (the integrations screen and the detail both offer k)."""
    screen.tell(Text(f"checking integration {integration_id} …"))
    try:
        checked = await screen.hub.request(
            "POST", f"/v1/integrations/{integration_id}/check", parse=records.integration_from_json
        )
    except RequestFailed as exc:
        screen.tell(Text(f"integration {integration_id}: {exc.message}", style="bold red"))
    else:
        screen.tell(
            Text(
                f"integration {integration_id}: {checked.state} {checked.reason or ''}".rstrip(),
                style="bold red" if checked.state == "error" else "green",
            )
        )
    screen.hub.refresh_feed()
