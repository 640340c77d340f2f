"""The new-sync form: what `patchbay sync create` asks for (integration, segment, list,
mode, field mapping, tags), posted as the same body to POST /v1/syncs.

The integrations to choose from are the daemon's, read when the form opens. The form
checks only what it can say better than the daemon (a choice not made, a mapping entry
without `=`); the daemon checks the rest, and when it refuses, its words are shown in
place and the form stays open with what was typed. One line per field, so that all of
it fits in 24 lines."""

from __future__ import annotations

import re
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from .. import records
from ..messages import RequestFailed
from .form import FormScreen
from .live import hub

# The daemon's segments and modes, as `patchbay sync create` offers them.
SEGMENTS = ("all", "subscribers", "new", "returning", "abandoned_checkout")
MODES = ("active", "once")
HINT = "enter in a text box, or the button, creates the sync"


def mapping_pairs(text: str) -> list[str]:
    """ "a=b, c=d" or "a=b c=d" -> ["a=b", "c=d"]; ValueError naming an entry without a
    store field and `=` (the daemon checks the field names)."""
    pairs = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    for pair in pairs:
        source, eq, _dest = pair.partition("=")
        if not eq or not source:
            raise ValueError(f"field mapping: expected store_field=dest_field, got {pair!r}")
    return pairs


def integration_label(card: records.IntegrationCard) -> str:
    state = "" if card.state in ("active", "connected") else f" ({card.state})"
    return f"#{card.id} {card.provider} · {card.store or '?'}{state}"


class SyncCreateScreen(FormScreen[records.SyncRow]):
    DEFAULT_CSS = """
    SyncCreateScreen { align: center middle; }
    SyncCreateScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                                  border: thick $accent; padding: 0 1; background: $surface; }
    SyncCreateScreen .field { height: 1; margin-bottom: 1; }
    SyncCreateScreen .field Label { width: 15; }
    SyncCreateScreen .field Input, SyncCreateScreen .field Select { width: 1fr; }
    SyncCreateScreen #buttons { height: auto; margin-top: 1; }
    SyncCreateScreen #buttons Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "new sync"
            with Horizontal(classes="field"):
                yield Label("integration")
                yield Select[int](
                    [], prompt="reading the integrations …", id="integration", compact=True
                )
            with Horizontal(classes="field"):
                yield Label("segment")
                yield Select[str](
                    [(s.replace("_", " "), s) for s in SEGMENTS],
                    prompt="choose the customers to send",
                    id="segment",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("list")
                yield Input(
                    id="list", placeholder="id or name; blank: the provider's own", compact=True
                )
            with Horizontal(classes="field"):
                yield Label("mode")
                yield Select[str](
                    [
                        ("active: keeps the list up to date", "active"),
                        ("once: one run, then done", "once"),
                    ],
                    value="active",
                    allow_blank=False,
                    id="mode",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("field mapping")
                yield Input(
                    id="map",
                    placeholder="store_field=dest_field …, e.g. member.points=points",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("tags")
                yield Input(id="tags", placeholder="a,b: comma-separated, no spaces", compact=True)
            yield Static(HINT, id="result", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Create", id="create", variant="primary", compact=True, disabled=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#integration", Select).focus()
        self._load()

    @work(exclusive=True, group="integrations")
    async def _load(self) -> None:
        """The integrations to choose from (not the providers still to connect)."""
        try:
            cards = await hub(self).request(
                "GET", "/v1/integrations", parse=records.integrations_from_json
            )
        except RequestFailed as exc:
            self.show_result(f"could not read the integrations: {exc.message}", error=True)
            return
        chosen = self.query_one("#integration", Select)
        live = [c for c in cards if c.id is not None]
        if not live:
            chosen.prompt = "none connected"
            self.show_result("no integration to sync to: connect one first (i, then a)", error=True)
            return
        chosen.prompt = "choose where to send"
        chosen.set_options((integration_label(c), c.id) for c in live if c.id is not None)
        if len(live) == 1:
            chosen.value = live[0].id
        self.query_one("#create", Button).disabled = False

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self._submit()

    def _submit(self) -> None:
        if self.query_one("#create", Button).disabled:
            return  # nothing to choose from yet, or a request on its way
        body = self._body()
        if body is None:
            return
        self.show_result("creating …", error=False)
        self.send("/v1/syncs", body, records.sync_from_json, "create")

    def _body(self) -> dict[str, Any] | None:
        """The body `patchbay sync create` posts, or None (and why, shown) when a choice
        is missing or the mapping cannot be read."""
        integration = self.query_one("#integration", Select).value
        segment = self.query_one("#segment", Select).value
        if not isinstance(integration, int):
            self.show_result("choose the integration to send to", error=True)
            return None
        if not isinstance(segment, str):
            self.show_result("choose a segment: the customers to send", error=True)
            return None
        try:
            mapping = mapping_pairs(self.query_one("#map", Input).value)
        except ValueError as exc:
            self.show_result(str(exc), error=True)
            return None
        return {
            "integration": integration,
            "segment": segment,
            "list": self.query_one("#list", Input).value.strip() or None,
            "mode": self.query_one("#mode", Select).value,
            "map": mapping,
            "tags": self.query_one("#tags", Input).value.strip() or None,
            "export_opted_out": False,
            "acquired_since": None,
            "acquired_until": None,
            "dry_run": False,
        }
