"""Queries on the event_log table.

The bus keeps the newest events in memory (its ring); the table keeps history (the last
`KEEP_ROWS` events, optionally only those newer than a retention time), which
`GET /v1/log` reads for whatever reaches past the ring: an `EventQuery` says which events,
`start_of_newest` where the newest `n` of them begin, and `pages` reads them in id order
a page at a time, so a long history is never one big read or one big list.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..bus import Event
from .database import Database

KEEP_ROWS = 100_000
PAGE = 1000
COLUMNS = "id, ts, kind, level, component, message, fields"


async def append(db: Database, events: list[Event]) -> None:
    if not events:
        return
    await db.executemany(
        "INSERT INTO event_log (id, ts, kind, level, component, message, fields)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (e.id, e.ts, e.kind, e.level, e.component, e.message, json.dumps(e.fields))
            for e in events
        ],
    )


def _event(row: Sequence[Any]) -> Event:
    return Event(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))


async def recent(db: Database, limit: int) -> list[Event]:
    rows = await db.fetchall(
        "SELECT id, ts, kind, level, component, message, fields FROM event_log"
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [_event(r) for r in reversed(rows)]


@dataclass(frozen=True)
class EventQuery:
    """Which stored events: every condition given must hold (times are our ISO form,
    UTC with Z, so they compare as text)."""

    levels: tuple[str, ...] | None = None  # any of these levels; None: any level
    integration: str | None = None  # fields.integration, compared as text
    after: int = 0  # ids above this
    before: int | None = None  # ids below this (where the in-memory ring begins)
    since: str | None = None  # ts at or after this
    until: str | None = None  # ts before this

    def where(self) -> tuple[str, list[Any]]:
        clauses = ["id > ?"]
        params: list[Any] = [self.after]
        if self.before is not None:
            clauses.append("id < ?")
            params.append(self.before)
        if self.levels is not None:
            clauses.append(f"level IN ({', '.join('?' for _ in self.levels) or 'NULL'})")
            params.extend(self.levels)
        if self.integration is not None:
            clauses.append("CAST(json_extract(fields, '$.integration') AS TEXT) = ?")
            params.append(self.integration)
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(self.until)
        return " AND ".join(clauses), params


async def start_of_newest(db: Database, query: EventQuery, count: int) -> EventQuery:
    """`query` narrowed to its newest `count` events (all of them if fewer match)."""
    where, params = query.where()
    row = await db.fetchone(
        f"SELECT id FROM event_log WHERE {where} ORDER BY id DESC LIMIT 1 OFFSET ?",  # noqa: S608
        (*params, max(0, count - 1)),
    )
    if row is None:
        return query
    return replace(query, after=int(row[0]) - 1)


async def pages(db: Database, query: EventQuery, size: int = PAGE) -> AsyncIterator[list[Event]]:
    """The matching events, oldest first, `size` at a time (each page one short read)."""
    after = query.after
    while True:
        where, params = replace(query, after=after).where()
        sql = f"SELECT {COLUMNS} FROM event_log WHERE {where} ORDER BY id LIMIT ?"  # noqa: S608
        rows = await db.fetchall(sql, (*params, size))
        if not rows:
            return
        yield [_event(r) for r in rows]
        if len(rows) < size:
            return
        after = int(rows[-1][0])


async def newest(db: Database, query: EventQuery, count: int) -> list[Event]:
    """The newest `count` stored events `query` matches, oldest first."""
    narrowed = await start_of_newest(db, query, count)
    found = [e async for page in pages(db, narrowed) for e in page]
    return found[-count:] if count else []


async def prune(db: Database, keep: int = KEEP_ROWS, older_than: str | None = None) -> None:
    """Keep the newest `keep` rows; with `older_than` (an ISO time in our form), also
    drop every row logged before it (a retention time). Newest by time, not id: daemons
    sharing a PostgreSQL each number their events in a range of their own."""
    async with db.transaction() as conn:
        await conn.execute(
            "DELETE FROM event_log WHERE ts <"
            " (SELECT ts FROM event_log ORDER BY ts DESC LIMIT 1 OFFSET ?)",
            (max(0, keep - 1),),
        )
        if older_than is not None:
            await conn.execute("DELETE FROM event_log WHERE ts < ?", (older_than,))
