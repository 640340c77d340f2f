"""One event of the log in full (Enter on it): its whole message, every field on a line
of its own, when it happened in local time and how long ago. A log line is wrapped but
terse; this is where one reads an error's whole reason, or the field the line left out
because it was empty."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...render import ago, field_value, shown
from .. import records
from ..local_time import local
from ..widgets.log_view import STYLES


def detail_value(value: Any) -> str:
    """A field's value in full: a table's entries all shown (zeros too), text unquoted."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {detail_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(detail_value(v) for v in value) or "—"
    if isinstance(value, str):
        return shown(value) or "—"
    return field_value(value) or "—"


def event_detail(event: records.LogEvent, now: datetime, tz: tzinfo | None = None) -> Group:
    """What the dialog shows: time, level and component, message, fields."""
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("time", f"{local(event.ts, tz)}  ({ago(event.ts, now)})")
    facts.add_row("level", Text(event.level, style=STYLES.get(event.level, "")))
    facts.add_row("component", shown(event.component))
    facts.add_row("event", f"#{event.id}")
    message = Text("\n".join(shown(part) for part in event.message.split("\n")) or "—")
    parts: list[RenderableType] = [facts, Text("\nmessage", style="bold"), message]
    filled = {k: v for k, v in event.fields.items() if field_value(v) is not None}
    empty = [k for k in event.fields if k not in filled]
    if filled:
        fields = Table.grid(padding=(0, 2))
        fields.add_column(style="cyan", no_wrap=True, max_width=24)
        fields.add_column(overflow="fold")
        for key, value in filled.items():
            fields.add_row(shown(key), detail_value(value))
        parts += [Text("\nfields", style="bold"), fields]
    if empty:
        parts.append(Text("empty: " + ", ".join(shown(k) for k in empty), style="dim"))
    return Group(*parts)


class EventScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    EventScreen { align: center middle; }
    EventScreen > VerticalScroll { width: 100; max-width: 100%; height: auto;
                                   max-height: 100%; border: thick $primary; padding: 0 1;
                                   background: $surface; }
    """
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, event: records.LogEvent, *, now: datetime, tz: tzinfo | None) -> None:
        super().__init__()
        self.event, self.now, self.tz = event, now, tz

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(event_detail(self.event, self.now, self.tz))

    def on_mount(self) -> None:
        box = self.query_one(VerticalScroll)
        box.border_title = "event"
        box.border_subtitle = "esc back"
