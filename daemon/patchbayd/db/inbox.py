"""Queries on the inbox: the durable landing place of everything that comes in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from .database import Database


@dataclass(frozen=True)
class Incoming:
    store: str
    kind: str  # customers | orders | events
    source: str  # ingest | shopify
    dedupe: str
    payload: str  # the item's JSON, canonical

    @classmethod
    def of(cls, store: str, kind: str, source: str, item: Any,
           dedupe: str | None = None) -> Incoming:
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
        chunk = rows[start:start + ROWS_PER_STATEMENT]
        placeholders = ",".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))  # never values
        columns = "store, kind, source, dedupe, payload, received_at"
        sql = f"INSERT OR IGNORE INTO inbox ({columns}) VALUES {placeholders}"  # noqa: S608
        values = [v for r in chunk for v in (r.store, r.kind, r.source, r.dedupe, r.payload, now)]
        await db.write(sql, values)


async def pending(db: Database, limit: int) -> list[Pending]:
    rows = await db.fetchall(
        "SELECT id, store, kind, source, payload FROM inbox WHERE processed_at IS NULL"
        " ORDER BY id LIMIT ?", (limit,))
    return [Pending(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def mark(conn: aiosqlite.Connection, done: Sequence[tuple[int, str | None]],
               now: str) -> None:
    """(inbox id, error or None) pairs: processed, with the reason if it could not be."""
    await conn.executemany("UPDATE inbox SET processed_at = ?, error = ? WHERE id = ?",
                           [(now, error, inbox_id) for inbox_id, error in done])


async def backlog(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM inbox WHERE processed_at IS NULL")
    return int(row[0]) if row else 0
