"""Queries on the event_log table."""

from __future__ import annotations

import json

from ..bus import Event
from .database import Database

KEEP_ROWS = 100_000


async def append(db: Database, events: list[Event]) -> None:
    if not events:
        return
    await db.executemany(
        "INSERT OR IGNORE INTO event_log (id, ts, kind, level, component, message, fields)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (e.id, e.ts, e.kind, e.level, e.component, e.message, json.dumps(e.fields))
            for e in events
        ],
    )


async def recent(db: Database, limit: int) -> list[Event]:
    rows = await db.fetchall(
        "SELECT id, ts, kind, level, component, message, fields FROM event_log"
        " ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [Event(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in reversed(rows)]


async def prune(db: Database, keep: int = KEEP_ROWS) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "DELETE FROM event_log WHERE id <= (SELECT max(id) FROM event_log) - ?", (keep,)
        )
