"""The live event log, with a minimum-level filter that re-renders what it holds.

Lines wrap (at 80 columns an event's fields are what says what happened), at a width
that does not change when the scrollbar appears (its gutter is kept); when the pane's
width changes, what is held is rendered again at the new width."""

from __future__ import annotations

import collections
from typing import Any

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from ...render import event_fields
from .. import records

LEVELS = ("debug", "info", "warning", "error")
STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}
KEEP = 2000


def rank(level: str) -> int:
    """A level's place in LEVELS; one this console does not know counts as info."""
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("info")


class LogPane(RichLog):
    DEFAULT_CSS = """
    LogPane { border: round $secondary; height: 1fr; scrollbar-gutter: stable;
              overflow-x: hidden; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            wrap=True, markup=False, highlight=False, max_lines=KEEP, min_width=20, **kwargs
        )  # RichLog wraps at 78 at least otherwise
        self.events: collections.deque[records.LogEvent] = collections.deque(maxlen=KEEP)
        self.min_level = "debug"
        self._width: int | None = None
        self._title()

    def _title(self) -> None:
        self.border_title = f"event log — level ≥ {self.min_level} (l: change)"

    def _visible(self, event: records.LogEvent) -> bool:
        return rank(event.level) >= rank(self.min_level)

    def add_event(self, event: records.LogEvent) -> None:
        self.events.append(event)
        if self._visible(event):
            self.write(self._line(event))

    def cycle_level(self) -> None:
        self.min_level = LEVELS[(rank(self.min_level) + 1) % len(LEVELS)]
        self._title()
        self._render_again()

    def on_resize(self, event: Resize) -> None:
        width, known = event.size.width, self._width
        self._width = width
        if known and width and width != known:
            self._render_again()

    def _render_again(self) -> None:
        self.clear()
        for event in self.events:
            if self._visible(event):
                self.write(self._line(event))

    @staticmethod
    def _line(event: records.LogEvent) -> Text:
        fields = event_fields(dict(event.fields))
        text = Text(event.ts[11:19] + " ", style="dim")
        text.append(f"{event.level[:4].upper():4} ", style=STYLES.get(event.level, ""))
        text.append(f"{event.component}: {event.message} ")
        text.append(fields, style="dim")
        return text
