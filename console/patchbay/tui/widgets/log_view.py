"""The log's lines with a cursor over events, for the pane (log_pane.py).

A Line-API widget rather than a RichLog (no cursor) or an OptionList (removing its
oldest option re-measures every option, on each event once the log is full): each event
is rendered once per width into wrapped lines (time and level in a column, the message
and fields wrapped under it, never cut), the first line of every event is kept in a
sorted list, and a screen line finds its event by bisection. So 2000 events cost one
render each when they arrive, and only the lines in view are drawn.

The cursor follows new events while it is on the last one; moved up, it stays where it
is and the lines under it do not move. Enter says which event was chosen."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...render import event_fields, shown
from .. import records
from ..local_time import clock

STYLES = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}
COLUMN = 14  # "HH:MM:SS LEVL ": wrapped lines of an event start under its message
NARROW = COLUMN + 20  # narrower than this, an event's lines start at the left edge
RENDERED = 4096  # events whose lines are kept (the pane holds 2000)


def head(event: records.LogEvent, tz: tzinfo | None = None) -> Text:
    """The column of a line: local time and level."""
    text = Text(clock(event.ts, tz) + " ", style="dim")
    text.append(f"{event.level[:4].upper():4} ", style=STYLES.get(event.level, ""))
    return text


def body(event: records.LogEvent) -> Text:
    """What happened: component, message, then the fields worth reading (dim)."""
    text = Text(f"{shown(event.component)}: {shown(event.message)}")
    fields = event_fields(dict(event.fields))
    if fields:
        text.append(" " + shown(fields), style="dim")
    return text


def line_text(event: records.LogEvent, tz: tzinfo | None = None) -> str:
    """An event's line as plain text, before wrapping."""
    return (head(event, tz) + body(event)).plain


def event_strips(
    event: records.LogEvent, width: int, console: Console, tz: tzinfo | None = None
) -> list[Strip]:
    """An event's lines at `width`: wrapped at words (a word longer than a line is folded),
    each continuation indented under the message."""
    options = console.options.update(overflow="fold", no_wrap=False)
    if width < NARROW:
        lines = console.render_lines(
            head(event, tz) + body(event), options.update_width(max(width, 1)), pad=False
        )
        return [Strip(line) for line in lines] or [Strip.blank(0)]
    first = list(head(event, tz).render(console))
    lines = console.render_lines(body(event), options.update_width(width - COLUMN), pad=False)
    indent = [Segment(" " * COLUMN)]
    return [
        Strip([*(first if n == 0 else indent), *line]).crop(0, width)
        for n, line in enumerate(lines)
    ] or [Strip(first)]


class LogView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"log-view--cursor"}
    DEFAULT_CSS = """
    LogView { height: 1fr; scrollbar-gutter: stable; overflow-x: hidden; }
    LogView > .log-view--cursor { background: $foreground 8%; }
    LogView:focus > .log-view--cursor { background: $accent 30%; }
    """
    BINDINGS = [
        Binding("up,k", "move(-1)", "Previous event", show=False),
        Binding("down,j", "move(1)", "Next event", show=False),
        Binding("pageup", "page(-1)", "", show=False),  # no description: not in the help,
        Binding("pagedown", "page(1)", "", show=False),  # where the log's keys must fit
        Binding("home", "first", "", show=False),  # in 24 lines
        Binding("end", "last", "Last event, following new ones", show=False),
        Binding("enter", "choose", "The event in full", show=False),
    ]

    class Chosen(Message):
        """Enter (or a double click) on an event: the pane opens it in full."""

        def __init__(self, event: records.LogEvent) -> None:
            super().__init__()
            self.event = event

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tz = tz
        self.events: list[records.LogEvent] = []  # shown, oldest first
        self.cursor: int | None = None  # index into events
        self.following = True  # the cursor moves to each new event
        self._tops: list[int] = []  # first line of each event (see _base)
        self._heights: list[int] = []
        self._base = 0  # the first line of the oldest event shown: lines before it dropped
        self._end = 0  # the line after the last event
        self._width = 0  # what the lines are rendered at; 0: not known yet
        self.placeholder = "no events yet"  # said on the first line when none is shown
        self._rendered: LRUCache[int, tuple[records.LogEvent, list[Strip]]] = LRUCache(RENDERED)

    # -- what is shown ------------------------------------------------------------------

    @property
    def chosen(self) -> records.LogEvent | None:
        """The event under the cursor."""
        return None if self.cursor is None else self.events[self.cursor]

    def show(self, shown_events: Iterable[records.LogEvent]) -> None:
        """Show these events instead (a filter changed, the log resumed): the cursor stays
        on its event, or the next one still shown; following, on the last."""
        chosen = self.chosen
        self.events = list(shown_events)
        self._layout()
        if not self.events:
            self.cursor, self.following = None, True
        elif self.following or chosen is None:
            self.cursor = len(self.events) - 1
        else:
            same = next((i for i, e in enumerate(self.events) if e is chosen), None)
            later = (i for i, e in enumerate(self.events) if e.id >= chosen.id)
            self.cursor = same if same is not None else next(later, len(self.events) - 1)
            self.following = self.cursor == len(self.events) - 1
        self.refresh()
        self.call_after_refresh(self._scroll_to_cursor, center=True)

    def append(self, event: records.LogEvent) -> None:
        """One more event at the end; the cursor moves to it if it was following."""
        self.events.append(event)
        if self._width:
            height = len(self._strips(event))
            self._tops.append(self._end)
            self._heights.append(height)
            self._end += height
            self._sized()
        if self.following:
            self.cursor = len(self.events) - 1
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        self.refresh()

    def drop(self, event: records.LogEvent) -> None:
        """`event` left the pane's memory: gone from here too if it is the oldest shown.
        What is in view stays in view."""
        if not self.events or self.events[0] is not event:
            return
        del self.events[0]
        height, scrolled = 0, self.scroll_y
        if self._tops:
            height = self._heights.pop(0)
            del self._tops[0]
            self._base = self._tops[0] if self._tops else self._end
        if self.cursor is not None:
            self.cursor = max(self.cursor - 1, 0) if self.events else None
        self._sized()
        if not self.following and height:
            self.scroll_to(y=max(scrolled - height, 0), animate=False, immediate=True)
        self.refresh()

    # -- layout and drawing ---------------------------------------------------------------

    def _strips(self, event: records.LogEvent) -> list[Strip]:
        found = self._rendered.get(id(event))  # the cache holds the event: its id is unique
        if found is not None and found[0] is event:
            return found[1]
        strips = event_strips(event, self._width, self.app.console, self.tz)
        self._rendered[id(event)] = (event, strips)
        return strips

    def _layout(self) -> None:
        """Where each event's lines start, at the current width."""
        self._tops, self._heights, self._base, self._end = [], [], 0, 0
        if self._width:
            for event in self.events:
                height = len(self._strips(event))
                self._tops.append(self._end)
                self._heights.append(height)
                self._end += height
        self._sized()

    def _sized(self) -> None:
        self.virtual_size = Size(self._width, self._end - self._base)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self._rendered.clear()
            self._layout()
            self.refresh()
            self.call_after_refresh(self._scroll_to_cursor)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = self._base + self.scroll_offset.y + y
        index = bisect_right(self._tops, line) - 1
        if not self.events and y == 0:
            return (
                Strip([Segment(self.placeholder, Style(dim=True))])
                .crop_extend(0, width, None)
                .apply_style(self.rich_style)
            )
        if index < 0 or line >= self._end or index >= len(self.events):
            return Strip.blank(width, self.rich_style)
        strips = self._strips(self.events[index])
        strip = strips[min(line - self._tops[index], len(strips) - 1)]
        if index == self.cursor:
            cursor = self.get_component_rich_style("log-view--cursor")
            strip = strip.apply_style(cursor).extend_cell_length(width, cursor)
        return strip.crop_extend(0, width, None).apply_style(self.rich_style)

    # -- the cursor -----------------------------------------------------------------------

    def _scroll_to_cursor(self, center: bool = False) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            return
        if self.cursor is None or self.cursor >= len(self._tops):
            return
        top = self._tops[self.cursor] - self._base
        height = min(self._heights[self.cursor], self.scrollable_content_region.height)
        self.scroll_to_region(
            Region(0, top, 1, max(height, 1)),
            animate=False,
            center=center,
            force=True,
            immediate=True,
            x_axis=False,
        )

    def _move_to(self, index: int) -> None:
        if not self.events:
            return
        self.cursor = max(0, min(index, len(self.events) - 1))
        self.following = self.cursor == len(self.events) - 1
        self._scroll_to_cursor()
        self.refresh()

    def action_move(self, step: int) -> None:
        self._move_to(len(self.events) - 1 if self.cursor is None else self.cursor + step)

    def action_page(self, direction: int) -> None:
        if self.cursor is None or not self._tops:
            self.action_last()
            return
        line = self._tops[self.cursor] + direction * self.scrollable_content_region.height
        self._move_to(bisect_right(self._tops, max(line, self._base)) - 1)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self.events) - 1)

    def action_choose(self) -> None:
        if self.chosen is not None:
            self.post_message(self.Chosen(self.chosen))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self._tops:
            return
        line = self._base + self.scroll_offset.y + offset.y
        if line < self._end:
            self._move_to(bisect_right(self._tops, line) - 1)
            if event.chain >= 2:
                self.action_choose()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.following = False  # reading back: new events must not pull the view down
