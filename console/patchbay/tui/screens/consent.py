"""Consent: look a contact up (state in each store and at each integration, and the
audit trail of every decision), or review the opt-outs the guard held back."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable
from ...render import audit, consent

OUTCOME_STYLES = {"applied": "green", "suppressed": "yellow", "failed": "bold red",
                  "stale": "dim", "duplicate": "dim", "ignored": "dim"}


class ConsentScreen(Screen[None]):
    DEFAULT_CSS = """
    ConsentScreen Input { margin: 0 1; }
    ConsentScreen #state { height: auto; border: round $primary; padding: 0 1; }
    ConsentScreen #trail { height: 1fr; border: round $secondary; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "suppressed", "Suppressed list"),
    ]

    def __init__(self, socket: Path) -> None:
        super().__init__()
        self.socket = socket

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="email address, then enter (ctrl+s: held-back opt-outs)",
                    id="email")
        yield Static("", id="state")
        with VerticalScroll(id="trail"):
            yield Static("", id="history")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "consent"
        self.query_one("#state", Static).border_title = "state"
        self.query_one("#trail").border_title = "history"
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.look_up(event.value.strip())

    def action_suppressed(self) -> None:
        self.show_suppressed()

    def _show(self, state: str, entries: list[dict[str, object]], title: str) -> None:
        self.query_one("#state", Static).update(state)
        self.query_one("#trail").border_title = title
        text = Text()
        for entry in entries:
            line = audit([entry])  # type: ignore[list-item]
            text.append(line + "\n", OUTCOME_STYLES.get(str(entry.get("outcome")), ""))
        self.query_one("#history", Static).update(text if entries else "nothing yet")

    @work(exclusive=True, group="lookup")
    async def look_up(self, email: str) -> None:
        if "@" not in email:
            self._show("type an email address", [], "history")
            return
        self.query_one("#state", Static).update(f"looking {email} up …")
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                history = (await client.get(f"/v1/consent/{email}/history"))["history"]
                try:
                    state = consent(await client.get(f"/v1/consent/{email}"))
                except ApiFailure as exc:
                    state = exc.message
        except (ApiFailure, DaemonUnreachable) as exc:
            self._show(f"[red]{exc}[/]", [], "history")
            return
        self._show(state, history, f"history of {email}")

    @work(exclusive=True, group="lookup")
    async def show_suppressed(self) -> None:
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                held = (await client.get("/v1/consent/suppressed"))["suppressed"]
        except (ApiFailure, DaemonUnreachable) as exc:
            self._show(f"[red]{exc}[/]", [], "suppressed")
            return
        self._show(f"{len(held)} opt-outs held back by the opt-out guard, for review", held,
                   "suppressed opt-outs")
