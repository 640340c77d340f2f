"""Consent: look a contact up (state in each store and at each integration, and the
audit trail of every decision), or review the opt-outs the guard held back."""

from __future__ import annotations

from urllib.parse import quote

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from .. import records
from ..local_time import local
from ..messages import RequestFailed
from .live import footer, hub

OUTCOME_STYLES = {
    "applied": "green",
    "suppressed": "yellow",
    "failed": "bold red",
    "stale": "dim",
    "duplicate": "dim",
    "ignored": "dim",
}


def when(timestamp: str | None) -> str:
    """Local time to the millisecond: the opt-out guard is judged on exact times."""
    return local(timestamp) if timestamp else "?"


def state_text(found: records.ConsentState) -> Text:
    text = Text(found.email)
    for s in found.stores:
        text.append(
            f"\n  store {s.store} (customer {s.customer}): {s.state or '-'}"
            f" since {when(s.at)}; registered {when(s.registered_at)}"
        )
    for i in found.integrations:
        text.append(
            f"\n  #{i.integration} {i.provider} ({i.store}): "
            f"{i.at_provider} at the provider; last known {i.last_known or '-'}"
        )
    return text


def audit_line(e: records.AuditEntry) -> str:
    return (
        f"{when(e.decided_at)} #{e.integration_id} {e.email} {e.source}: "
        f"{e.old_state or '-'} -> {e.new_state or '-'} {e.outcome} ({e.rule}: "
        f"{e.reason}) event {when(e.event_at)}"
    )


class ConsentScreen(Screen[None]):
    DEFAULT_CSS = """
    ConsentScreen Input { margin: 0 1 1 1; }
    ConsentScreen #found { height: auto; max-height: 50%; border: round $primary;
                           padding: 0 1; }
    ConsentScreen #trail { height: 1fr; width: 100%; border: round $secondary; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "leave", "Back"),
        Binding("slash", "search", "Find an email"),
        Binding("ctrl+s", "suppressed", "Suppressed list"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="/ and an email address, then enter (ctrl+s: held-back opt-outs)",
            id="email",
            compact=True,
        )
        with VerticalScroll(id="found"):
            yield Static("", id="state")
        with VerticalScroll(id="trail"):
            yield Static("", id="history")
        yield footer()

    def on_mount(self) -> None:
        self.sub_title = "consent"
        self.query_one("#found").border_title = "state"
        self.query_one("#trail").border_title = "history"
        # Not focused at once: the screen keys (i, s, r, d, n …) work until `/` is pressed.
        self.query_one("#trail").focus()

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_leave(self) -> None:
        """Escape leaves the input first (the screen keys work again), then the screen."""
        if self.query_one(Input).has_focus:
            self.query_one("#trail").focus()
        else:
            self.app.pop_screen()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.look_up(event.value.strip())
        self.query_one("#trail").focus()

    def action_suppressed(self) -> None:
        self.show_suppressed()

    def _show(self, state: str | Text, entries: tuple[records.AuditEntry, ...], title: str) -> None:
        self.query_one("#state", Static).update(state)
        self.query_one("#trail").border_title = title
        text = Text()
        for entry in entries:
            text.append(audit_line(entry) + "\n", OUTCOME_STYLES.get(entry.outcome, ""))
        self.query_one("#history", Static).update(text if entries else "nothing yet")

    @work(exclusive=True, group="lookup")
    async def look_up(self, email: str) -> None:
        if "@" not in email:
            self._show("type an email address", (), "history")
            return
        self.query_one("#state", Static).update(Text(f"looking {email} up …"))
        path = f"/v1/consent/{quote(email, safe='@')}"
        app = hub(self)
        try:
            history = await app.request("GET", f"{path}/history", parse=records.history_from_json)
            state: Text
            try:
                state = state_text(await app.request("GET", path, parse=records.consent_from_json))
            except RequestFailed as exc:
                if exc.status is None:
                    raise
                state = Text(exc.message)  # the daemon's answer: e.g. no such customer
        except RequestFailed as exc:
            self._show(Text(exc.message, style="red"), (), "history")
            return
        self._show(state, history, f"history of {email}")

    @work(exclusive=True, group="lookup")
    async def show_suppressed(self) -> None:
        try:
            held = await hub(self).request(
                "GET", "/v1/consent/suppressed", parse=records.suppressed_from_json
            )
        except RequestFailed as exc:
            self._show(Text(exc.message, style="red"), (), "suppressed")
            return
        self._show(
            f"{len(held)} opt-outs held back by the opt-out guard, for review",
            held,
            "suppressed opt-outs",
        )
