"""In-process publish/subscribe for log lines and progress.

Subscribers (SSE streams) get a bounded queue each: a slow reader loses its oldest
events and is told how many, instead of growing the daemon's memory. Every event is
also queued for the event-log table, and the last `ring` events stay in memory so a
new subscriber gets a backlog without a gap between "history" and "live".
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    id: int
    ts: str
    kind: str  # "log", "progress", ...
    level: str
    component: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "kind": self.kind,
            "level": self.level,
            "component": self.component,
            "message": self.message,
            "fields": self.fields,
        }


class Subscription:
    def __init__(self, bus: Bus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _put(self, event: Event | None) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.dropped += 1

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def next(self, within: float) -> Event | None:
        """The next event, None once the bus closed; TimeoutError after `within` seconds.

        Safe to time out repeatedly (unlike wrapping `anext` of the iterator, whose
        cancellation would close the generator and end the stream).
        """
        return await asyncio.wait_for(self._queue.get(), within)

    def close(self) -> None:
        self._bus._subscribers.discard(self)


class Bus:
    def __init__(self, ring: int = 1000, first_id: int = 0) -> None:
        self._subscribers: set[Subscription] = set()
        self._ring: collections.deque[Event] = collections.deque(maxlen=ring)
        self._unsaved: list[Event] = []
        self._next_id = first_id + 1
        self.closed = False

    def publish(
        self,
        *,
        ts: str,
        kind: str,
        level: str,
        component: str,
        message: str,
        fields: dict[str, Any],
    ) -> Event:
        event = Event(self._next_id, ts, kind, level, component, message, fields)
        self._unsaved.append(event)
        self._deliver(event)
        return event

    def relay(self, event: dict[str, Any], origin: str) -> None:
        """An event another daemon published (it saved it itself): shown to this daemon's
        subscribers under an id of ours, so their `after` cursors keep counting up."""
        fields = event.get("fields")
        self._deliver(
            Event(
                self._next_id,
                str(event.get("ts", "")),
                str(event.get("kind", "log")),
                str(event.get("level", "info")),
                str(event.get("component", "")),
                str(event.get("message", "")),
                {**(fields if isinstance(fields, dict) else {}), "daemon": origin},
            )
        )

    def _deliver(self, event: Event) -> None:
        self._next_id += 1
        self._ring.append(event)
        for sub in list(self._subscribers):
            sub._put(event)

    def start_ids_at(self, first: int) -> None:
        """Ids of this daemon's own range from now on (several daemons share event_log)."""
        self._next_id = max(self._next_id, first + 1)

    def recent(self, limit: int) -> list[Event]:
        if limit <= 0:
            return []
        return list(self._ring)[-limit:]

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, maxsize)
        if self.closed:
            sub._put(None)
        else:
            self._subscribers.add(sub)
        return sub

    def seed(self, events: list[Event]) -> None:
        """Load history from the database at start, so backlogs survive restarts."""
        self._ring.extend(events)
        if events:
            self._next_id = max(self._next_id, events[-1].id + 1)

    def take_unsaved(self) -> list[Event]:
        events, self._unsaved = self._unsaved, []
        return events

    def close(self) -> None:
        """End every subscription (at shutdown, so SSE streams finish)."""
        self.closed = True
        for sub in list(self._subscribers):
            sub._put(None)
        self._subscribers.clear()
