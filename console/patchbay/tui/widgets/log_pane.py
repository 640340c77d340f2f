"""The live event log, with a minimum-level filter that re-renders what it holds."""

from __future__ import annotations

import collections
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

LEVELS = ("debug", "info", "warning", "error")
STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}
KEEP = 2000


class LogPane(RichLog):
    DEFAULT_CSS = """
    LogPane { border: round $secondary; height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(wrap=False, markup=False, highlight=False, max_lines=KEEP, **kwargs)
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEEP)
        self.min_level = "debug"
        self._title()

    def _title(self) -> None:
        self.border_title = f"event log — level ≥ {self.min_level} (l: change)"

    def _visible(self, event: dict[str, Any]) -> bool:
        return LEVELS.index(event.get("level", "info")) >= LEVELS.index(self.min_level)

    def add_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self._visible(event):
            self.write(self._line(event))

    def cycle_level(self) -> None:
        self.min_level = LEVELS[(LEVELS.index(self.min_level) + 1) % len(LEVELS)]
        self._title()
        self.clear()
        for event in self.events:
            if self._visible(event):
                self.write(self._line(event))

    @staticmethod
    def _line(event: dict[str, Any]) -> Text:
        fields = " ".join(f"{k}={v}" for k, v in event.get("fields", {}).items())
        text = Text(event["ts"][11:19] + " ", style="dim")
        text.append(f"{event['level'][:4].upper():4} ", style=STYLES.get(event["level"], ""))
        text.append(f"{event['component']}: {event['message']} ")
        text.append(fields, style="dim")
        return text
