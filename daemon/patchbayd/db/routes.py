"""Queries on routes: each stored as its file table (JSON), plus the enabled switch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .database import Database, Row


@dataclass(frozen=True)
class StoredRoute:
    id: int
    name: str
    definition: dict[str, Any]
    enabled: bool
    created_at: str
    updated_at: str


def _stored(row: Row) -> StoredRoute:
    return StoredRoute(row[0], row[1], json.loads(row[2]), bool(row[3]), row[4], row[5])


COLUMNS = "id, name, definition, enabled, created_at, updated_at"


async def all_routes(db: Database) -> list[StoredRoute]:
    rows = await db.fetchall(f"SELECT {COLUMNS} FROM routes ORDER BY id")  # noqa: S608
    return [_stored(r) for r in rows]


async def get(db: Database, route_id: int) -> StoredRoute | None:
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM routes WHERE id = ?",  # noqa: S608
        (route_id,),
    )
    return _stored(row) if row else None


async def save(
    db: Database, tables: list[dict[str, Any]], *, replace: bool, now: str
) -> tuple[list[int], list[str]]:
    """Store routes in one transaction: (their ids, the names that already existed and
    were kept as they were because `replace` was not given)."""
    ids, kept = [], []
    async with db.transaction() as conn:
        for table in tables:
            name, enabled = table["name"], int(table.get("enabled", True))
            # The switch lives in its column only (enable/disable change it there).
            definition = {key: value for key, value in table.items() if key != "enabled"}
            cursor = await conn.execute("SELECT id FROM routes WHERE name = ?", (name,))
            existing = await cursor.fetchone()
            if existing and not replace:
                kept.append(name)
                continue
            if existing:
                await conn.execute(
                    "UPDATE routes SET definition = ?, enabled = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(definition), enabled, now, existing[0]),
                )
                ids.append(int(existing[0]))
            else:
                cursor = await conn.execute(
                    "INSERT INTO routes (name, definition, enabled, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (name, json.dumps(definition), enabled, now, now),
                )
                ids.append(int((await cursor.fetchone())[0]))
    return ids, kept


async def set_enabled(db: Database, route_id: int, enabled: bool, now: str) -> bool:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE routes SET enabled = ?, updated_at = ? WHERE id = ?",
            (int(enabled), now, route_id),
        )
        return int(cursor.rowcount) == 1


async def delete(db: Database, route_id: int) -> bool:
    """The route goes; its deliveries stay (history, and dead ones can still be replayed)."""
    async with db.transaction() as conn:
        cursor = await conn.execute("DELETE FROM routes WHERE id = ?", (route_id,))
        return int(cursor.rowcount) == 1


async def stamp(db: Database) -> tuple[object, ...]:
    """What changes whenever a route is added, changed or deleted."""
    row = await db.fetchone("SELECT count(*), max(id), max(updated_at) FROM routes")
    return tuple(row) if row else ()
