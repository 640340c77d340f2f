"""Queries on the inbox: the durable landing place of everything that comes in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .database import Conn, Database


@dataclass(frozen=True)
class Incoming:
    store: str
    kind: str  # customers | orders | events
    source: str  # ingest | shopify
    dedupe: str
    payload: str  # the item's JSON, canonical

    @classmethod
    def of(
        cls, store: str, kind: str, source: str, item: Any, dedupe: str | None = None
    ) -> Incoming:
        """A row for `item`; without an explicit key, identical content is the same row."""
        text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        key = dedupe or hashlib.sha256(f"{kind}\n{text}".encode()).hexdigest()
        return cls(store, kind, source, key, text)


@dataclass(frozen=True)
class Pending:
    id: int
    store: str
    kind: str
    source: str
    payload: str


ROWS_PER_STATEMENT = 5000  # 6 parameters a row, under SQLite's 32766-variable limit


async def append(db: Database, rows: Sequence[Incoming], now: str) -> None:
    """Commit rows; a repeat (same store and dedupe key) is ignored.

    One multi-row INSERT is one atomic statement: a single trip to the database thread
    per batch, which is what lets the listener acknowledge thousands of requests a second.
    """
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        placeholders = ",".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))  # never values
        columns = "store, kind, source, dedupe, payload, received_at"
        sql = f"INSERT INTO inbox ({columns}) VALUES {placeholders} ON CONFLICT DO NOTHING"  # noqa: S608
        values = [v for r in chunk for v in (r.store, r.kind, r.source, r.dedupe, r.payload, now)]
        await db.write_in_order(sql, values)


async def pending(db: Database, limit: int) -> list[Pending]:
    rows = await db.fetchall(
        "SELECT id, store, kind, source, payload FROM inbox WHERE processed_at IS NULL"
        " ORDER BY id LIMIT ?",
        (limit,),
    )
    return [Pending(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def mark(conn: Conn, done: Sequence[int], now: str) -> None:
    """Inbox rows processed, inside the transaction that applied them."""
    await conn.executemany(
        "UPDATE inbox SET processed_at = ? WHERE id = ?", [(now, inbox_id) for inbox_id in done]
    )


async def quarantine(db: Database, failed: Sequence[tuple[int, str]], now: str) -> None:
    """(inbox id, error) pairs: set aside with the reason, so the rows behind them go on."""
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE inbox SET processed_at = ?, quarantined_at = ?, error = ? WHERE id = ?",
            [(now, now, error, inbox_id) for inbox_id, error in failed],
        )


async def quarantined(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT id, store, kind, source, error, received_at, quarantined_at FROM inbox"
        " WHERE quarantined_at IS NOT NULL ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [
        {
            "id": r[0],
            "store": r[1],
            "kind": r[2],
            "source": r[3],
            "error": r[4],
            "received_at": r[5],
            "quarantined_at": r[6],
        }
        for r in rows
    ]


async def quarantined_count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM inbox WHERE quarantined_at IS NOT NULL")
    return int(row[0]) if row else 0


async def replay(db: Database, inbox_id: int) -> bool:
    """Take a quarantined row back into processing; False if there is no such row."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE inbox SET processed_at = NULL, quarantined_at = NULL, error = NULL"
            " WHERE id = ? AND quarantined_at IS NOT NULL",
            (inbox_id,),
        )
        return int(cursor.rowcount) == 1


async def backlog(db: Database) -> tuple[int, str | None]:
    """Rows waiting, and when the oldest arrived (a growing age means processing stalls)."""
    row = await db.fetchone(
        "SELECT count(*), min(received_at) FROM inbox WHERE processed_at IS NULL"
    )
    return (int(row[0]), row[1]) if row else (0, None)


async def store_activity(db: Database, store: str) -> dict[str, Any]:
    """What came in from one store: when last, and how much waits or is quarantined."""
    last = await db.fetchone(
        "SELECT received_at, source FROM inbox WHERE store = ? ORDER BY id DESC LIMIT 1", (store,)
    )
    counts = await db.fetchone(
        "SELECT count(*) FILTER (WHERE processed_at IS NULL),"
        " count(*) FILTER (WHERE quarantined_at IS NOT NULL) FROM inbox WHERE store = ?",
        (store,),
    )
    return {
        "last_received_at": last[0] if last else None,
        "last_received_from": last[1] if last else None,
        "pending": int(counts[0]) if counts else 0,
        "quarantined": int(counts[1]) if counts else 0,
    }


async def known(db: Database, store: str, keys: Sequence[str]) -> set[str]:
    """The dedupe keys among `keys` the store's inbox already holds (rows already in)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await db.read(  # committed rows only
            f"SELECT dedupe FROM inbox WHERE store = ? AND dedupe IN ({marks})",  # noqa: S608
            (store, *chunk),
        )
        found.update(r[0] for r in rows)
    return found
