"""Which events the log shows: the decision alone, without a widget, so that a table test
can pin it down. A filter is a minimum level, an integration, a sync and a text; all of
them must hold. `describe()` is what the pane's title says of it: an operator must always
see why lines are missing."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...render import event_fields, field_value
from .. import records

LEVELS = ("debug", "info", "warning", "error")


def rank(level: str) -> int:
    """A level's place in LEVELS; one this console does not know counts as info."""
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("info")


def field_text(event: records.LogEvent, name: str) -> str | None:
    """A field as the log shows it (`integration` 3 -> "3"), None when absent or empty:
    the filters compare what the operator saw, whatever type the daemon sent."""
    return field_value(event.fields.get(name))


def searchable(event: records.LogEvent) -> str:
    """The text a search looks in: what the line shows (level, component, message and the
    fields as `k=v`), lower-cased, so "integration=3" or "dead" find what one reads."""
    fields = event_fields(dict(event.fields))
    return f"{event.level} {event.component}: {event.message} {fields}".casefold()


@dataclass(frozen=True)
class LogFilter:
    min_level: str = "debug"
    integration: str | None = None
    sync: str | None = None
    text: str = ""

    @property
    def active(self) -> bool:
        return self != LogFilter()

    def next_level(self) -> LogFilter:
        return replace(self, min_level=LEVELS[(rank(self.min_level) + 1) % len(LEVELS)])

    def only(self, name: str, value: str | None) -> LogFilter:
        """Only the events whose `name` ("integration" or "sync") is `value`; None: any."""
        if name == "integration":
            return replace(self, integration=value)
        if name == "sync":
            return replace(self, sync=value)
        raise ValueError(f"the log filters by integration or sync, not {name}")

    def describe(self) -> str:
        """The filter in words for the title ("level≥warning · integration 3 · 'timeout'");
        "" when everything is shown."""
        parts = []
        if self.min_level != LEVELS[0]:
            parts.append(f"level≥{self.min_level}")
        if self.integration is not None:
            parts.append(f"integration {self.integration}")
        if self.sync is not None:
            parts.append(f"sync {self.sync}")
        if self.text.strip():
            parts.append(f"'{self.text.strip()}'")
        return " · ".join(parts)


def matches(event: records.LogEvent, where: LogFilter, text: str | None = None) -> bool:
    """Whether the log shows `event` under `where`. The text matches when every word of
    it appears in `searchable(event)` (any case, any order); `text` is that haystack when
    the caller keeps it (the pane does: 2000 events are searched again on each change)."""
    if rank(event.level) < rank(where.min_level):
        return False
    if where.integration is not None and field_text(event, "integration") != where.integration:
        return False
    if where.sync is not None and field_text(event, "sync") != where.sync:
        return False
    words = where.text.casefold().split()
    if not words:
        return True
    haystack = searchable(event) if text is None else text
    return all(word in haystack for word in words)
