"""The live event log of the main screen: the last 2000 events, filtered, searched,
paused, and any one of them opened in full.

The pane keeps every event that arrives (`events`); the view (log_view.py) shows those
the filter lets through (log_filter.py: level, integration, sync, words). The border's
title always says what is filtered out and whether the log is paused, because a log that
hides lines without saying so misleads; its bottom line names the keys. Paused, events
are still kept and counted ("paused · 12 new"), and shown on resuming. Nothing here runs
on a timer: an idle log costs nothing."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input

from .. import records
from .log_filter import LEVELS, LogFilter, field_text, matches, searchable
from .log_search import LogSearch
from .log_view import LogView, line_text

KEEP = 2000
__all__ = ["KEEP", "LEVELS", "LogPane"]


def _now() -> datetime:
    return datetime.now(UTC)


class LogPane(Vertical):
    DEFAULT_CSS = """
    LogPane { border: round $secondary; height: 1fr; border-subtitle-color: $text-muted; }
    LogPane:focus-within { border: round $accent; }
    LogPane > LogSearch { display: none; }
    LogPane > LogSearch.-open { display: block; }
    """
    BINDINGS = [
        Binding("slash", "search", "Search the log", show=False),
        Binding("I", "only('integration')", "Its integration only (again: all)", show=False),
        Binding("S", "only('sync')", "Its sync only (again: all)", show=False),
        Binding("p", "pause", "Pause or resume the log", show=False),
        Binding("escape", "clear", "Clear the log's filters", show=False),
    ]

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz = tz  # None: the machine's local time
        self.clock: Callable[[], datetime] = _now  # "now", for an event's age
        self.events: collections.deque[records.LogEvent] = collections.deque(maxlen=KEEP)
        self._texts: collections.deque[str] = collections.deque(maxlen=KEEP)  # searchable()
        self.filter = LogFilter()
        self.paused = False
        self._held = 0  # events arrived since the pause (the newest of self.events)
        self._new = 0  # of those, the ones the filter lets through
        self._title()

    def compose(self) -> ComposeResult:
        yield LogView(tz=self.tz)
        yield LogSearch()

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def min_level(self) -> str:
        return self.filter.min_level

    @property
    def lines(self) -> list[str]:
        """The events shown, as plain text, one per event (before wrapping)."""
        return [line_text(e, self.tz) for e in self.view.events]

    # -- events in -----------------------------------------------------------------------

    def add_event(self, event: records.LogEvent) -> None:
        oldest = self.events[0] if len(self.events) == self.events.maxlen else None
        text = searchable(event)
        self.events.append(event)
        self._texts.append(text)
        if self.paused:
            self._held += 1
            if matches(event, self.filter, text):
                self._new += 1
                self._title()
            return
        if oldest is not None:
            self.view.drop(oldest)
        if matches(event, self.filter, text):
            self.view.append(event)
        if self.filter.active:
            self._title()  # "N of M"

    def _shown(self) -> Iterator[records.LogEvent]:
        """What the filter lets through, of what was kept before the pause (if paused)."""
        upto = len(self.events) - min(self._held, len(self.events))
        for n, (event, text) in enumerate(zip(self.events, self._texts, strict=True)):
            if n >= upto:
                return
            if matches(event, self.filter, text):
                yield event

    def _count_new(self) -> int:
        held = min(self._held, len(self.events))
        tail = zip(list(self.events)[-held:], list(self._texts)[-held:], strict=True)
        return sum(matches(e, self.filter, t) for e, t in tail) if held else 0

    # -- the filter ------------------------------------------------------------------------

    def set_filter(self, where: LogFilter) -> None:
        self.filter = where
        self.view.show(self._shown())
        if self.paused:
            self._new = self._count_new()
        self._title()

    def cycle_level(self) -> None:
        self.set_filter(self.filter.next_level())

    def action_only(self, name: str) -> None:
        """Only the events of the chosen event's integration (or sync); again: all."""
        chosen = self.view.chosen
        value = None if chosen is None else field_text(chosen, name)
        current = getattr(self.filter, name)
        if current is not None and (value is None or value == current):
            self.set_filter(self.filter.only(name, None))
        elif value is not None:
            self.set_filter(self.filter.only(name, value))
        else:
            self.app.notify(f"the event under the cursor names no {name}", severity="warning")

    def action_clear(self) -> None:
        if self.filter.active:
            self.set_filter(LogFilter())

    def action_search(self) -> None:
        box = self.query_one(LogSearch)
        box.value = self.filter.text
        box.add_class("-open")
        box.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self._close_search()
        self.set_filter(replace(self.filter, text=message.value.strip()))

    def on_log_search_left(self, message: LogSearch.Left) -> None:
        message.stop()
        self._close_search()

    def _close_search(self) -> None:
        self.query_one(LogSearch).remove_class("-open")
        self.view.focus()

    # -- pause, detail ---------------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._held = self._new = 0
            self.view.show(self._shown())
        self._title()

    def on_log_view_chosen(self, message: LogView.Chosen) -> None:
        from ..screens.event import EventScreen

        message.stop()
        self.app.push_screen(EventScreen(message.event, now=self.clock(), tz=self.tz))

    # -- the border ------------------------------------------------------------------------

    def _title(self) -> None:
        if self.is_mounted:
            filtered = self.filter.active and self.events
            said = "no event matches the filter (esc clears it)" if filtered else "no events yet"
            if said != self.view.placeholder:
                self.view.placeholder = said
                self.view.refresh()
        parts = ["log"]
        if self.filter.active:
            parts.append(self.filter.describe())
            if self.is_mounted:
                kept = len(self.events) - min(self._held, len(self.events))
                parts.append(f"{len(self.view.events)} of {kept}")
        if self.paused:
            parts.append(f"paused · {self._new} new")
        self.border_title = " · ".join(parts)
        keys = ["/ search", "l level", "I/S integration/sync"]
        keys.append("p resume" if self.paused else "p pause")
        keys.append("↵ detail")
        if self.filter.active:
            keys.append("esc clear")
        self.border_subtitle = " · ".join(keys)

    def on_mount(self) -> None:
        self._title()
