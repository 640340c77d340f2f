"""Queries on the outbox (table `deliveries`): enqueue with the event, take, record."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .database import Conn, Database, Row

OPEN = ("pending", "retrying")
STATUSES = ("pending", "retrying", "delivered", "dead")


SYSTEM_ROUTE = 0  # route id of deliveries the daemon makes itself (consent changes)


@dataclass(frozen=True)
class NewDelivery:
    route_id: int
    route_name: str
    integration_id: int
    store: str
    event_type: str
    event_id: str
    action: int
    kind: str
    contact: str
    key: str
    payload: dict[str, Any]
    timeout: float
    refused: str | None  # set: recorded dead at once, with this reason


@dataclass(frozen=True)
class Delivery:
    id: int
    route_id: int | None
    route_name: str
    integration_id: int
    store: str
    event_type: str
    event_id: str
    action: int
    kind: str
    contact: str
    key: str
    payload: dict[str, Any]
    timeout: float
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    last_attempt_ms: float | None
    created_at: str
    updated_at: str
    delivered_at: str | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "route": self.route_id,
            "route_name": self.route_name,
            "integration": self.integration_id,
            "store": self.store,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "action": self.action,
            "kind": self.kind,
            "contact": self.contact,
            "key": self.key,
            "payload": self.payload,
            "timeout": self.timeout,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "last_attempt_ms": self.last_attempt_ms,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "delivered_at": self.delivered_at,
        }


COLUMNS = (
    "id, route_id, route_name, integration_id, store, event_type, event_id, action,"
    " kind, contact, key, payload, timeout, status, attempts, next_attempt_at,"
    " last_error, last_attempt_ms, created_at, updated_at, delivered_at"
)


def _delivery(row: Row) -> Delivery:
    values = list(row)
    values[11] = json.loads(values[11])
    return Delivery(*values)


async def enqueue(conn: Conn, rows: Sequence[NewDelivery], now: str) -> None:
    """Inside the transaction that commits the event: both land, or neither. A repeat of
    the same event (a replayed inbox row) is ignored by the (route, integration, key)
    index, so an event is never delivered twice because it was processed twice."""
    await conn.executemany(
        "INSERT INTO deliveries (route_id, route_name, integration_id, store,"
        " event_type, event_id, action, kind, contact, key, payload, timeout, status,"
        " attempts, next_attempt_at, last_error, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?) ON CONFLICT DO NOTHING",
        [
            (
                d.route_id,
                d.route_name,
                d.integration_id,
                d.store,
                d.event_type,
                d.event_id,
                d.action,
                d.kind,
                d.contact,
                d.key,
                json.dumps(d.payload),
                d.timeout,
                "dead" if d.refused else "pending",
                now,
                d.refused,
                now,
                now,
            )
            for d in rows
        ],
    )


@dataclass(frozen=True)
class Head:
    """Just enough of an open delivery to decide whether it goes now."""

    id: int
    contact: str
    next_attempt_at: str


async def open_heads(db: Database, integration_id: int, limit: int) -> list[Head]:
    """The oldest open delivery of each contact of the integration (only it may go: order
    per contact), oldest first, without payloads. One per contact, so a contact with
    thousands waiting behind a retry never hides the others."""
    rows = await db.read(
        "SELECT d.id, d.contact, d.next_attempt_at FROM deliveries d WHERE d.id IN ("
        " SELECT min(id) FROM deliveries WHERE integration_id = ?"
        " AND status IN ('pending', 'retrying') GROUP BY contact)"
        " ORDER BY d.id LIMIT ?",
        (integration_id, limit),
    )
    return [Head(int(r[0]), r[1], r[2]) for r in rows]


async def load(db: Database, delivery_ids: Sequence[int]) -> list[Delivery]:
    marks = ",".join("?" * len(delivery_ids))
    rows = await db.read(
        f"SELECT {COLUMNS} FROM deliveries WHERE id IN ({marks}) ORDER BY id",  # noqa: S608
        tuple(delivery_ids),
    )
    return [_delivery(r) for r in rows]


async def open_integrations(db: Database) -> list[int]:
    rows = await db.fetchall(
        "SELECT DISTINCT integration_id FROM deliveries WHERE status IN ('pending', 'retrying')"
    )
    return [int(r[0]) for r in rows]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: str
    attempts: int
    next_attempt_at: str
    error: str | None
    elapsed_ms: float | None
    in_doubt: bool = False  # it may have arrived where a repeat would duplicate it


async def record(
    db: Database,
    outcomes: Sequence[Outcome],
    now: str,
    effects: Callable[[Conn], Awaitable[None]] | None = None,
) -> None:
    """A pass's outcomes in one transaction, with what follows from them (`effects`: a
    delivered consent change becomes the provider's known state, a dead one an audit
    entry), so a crash can never keep one without the other."""
    async with db.transaction() as conn:
        if effects is not None:
            await effects(conn)
        await conn.executemany(
            "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
            " last_error = ?, last_attempt_ms = ?, updated_at = ?,"
            " delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END"
            " WHERE id = ?",
            [
                (
                    o.status,
                    o.attempts,
                    o.next_attempt_at,
                    o.error,
                    o.elapsed_ms,
                    now,
                    o.status,
                    now,
                    o.delivery_id,
                )
                for o in outcomes
            ],
        )


async def get(db: Database, delivery_id: int) -> Delivery | None:
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM deliveries WHERE id = ?",  # noqa: S608
        (delivery_id,),
    )
    return _delivery(row) if row else None


async def listing(
    db: Database,
    *,
    status: str | None = None,
    route_id: int | None = None,
    integration_id: int | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """Newest first; only the filters given are in the query, so each can use its index."""
    where, params = [], []
    for column, value in (
        ("status", status),
        ("route_id", route_id),
        ("integration_id", integration_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = await db.fetchall(
        f"SELECT {COLUMNS} FROM deliveries{clause} ORDER BY id DESC LIMIT ?",  # noqa: S608
        (*params, limit),
    )
    return [_delivery(r) for r in rows]


async def replay(db: Database, delivery_ids: Sequence[int], now: str) -> list[int]:
    """Dead (or delivered) deliveries back to pending with a fresh retry budget; the
    stored payload is what goes out again. One refused when it was planned (never
    attempted: an ineligible address, a template error) stays dead. Returns the ids
    that were replayed."""
    replayed = []
    async with db.transaction() as conn:
        for delivery_id in delivery_ids:
            cursor = await conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0,"
                " next_attempt_at = ?, updated_at = ? WHERE id = ?"
                " AND status IN ('dead', 'delivered') AND attempts > 0",
                (now, now, delivery_id),
            )
            if cursor.rowcount == 1:
                replayed.append(delivery_id)
    return replayed


async def replay_dead(db: Database, route_id: int | None, now: str) -> int:
    """Every dead delivery (of one route) that was attempted back to pending, in one
    statement; ones refused when planned stay dead."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
            " updated_at = ? WHERE status = 'dead' AND attempts > 0"
            " AND (? IS NULL OR route_id = ?)",
            (now, now, route_id, route_id),
        )
        return int(cursor.rowcount)


async def prune(db: Database, before: str) -> None:
    """Delivered deliveries older than `before` go (dead ones stay until dealt with)."""
    await db.write(
        "DELETE FROM deliveries WHERE status = 'delivered' AND updated_at < ?", (before,)
    )


async def depth(db: Database) -> tuple[int, str | None]:
    """Open deliveries, and when the oldest of them was enqueued."""
    row = await db.fetchone(
        "SELECT count(*), min(id) FROM deliveries WHERE status IN ('pending', 'retrying')"
    )
    if not row or not row[0]:
        return 0, None
    oldest = await db.fetchone("SELECT created_at FROM deliveries WHERE id = ?", (row[1],))
    return int(row[0]), oldest[0] if oldest else None


async def counts_by_route(db: Database, since: str) -> dict[int, dict[str, int]]:
    """route id -> status -> deliveries that changed since `since` (the console's hour)."""
    rows = await db.fetchall(
        "SELECT route_id, status, count(*) FROM deliveries WHERE route_id > 0"
        " AND updated_at >= ? GROUP BY route_id, status",
        (since,),
    )
    found: dict[int, dict[str, int]] = {}
    for route_id, status, count in rows:
        found.setdefault(int(route_id), {})[status] = int(count)
    return found


async def add(db: Database, rows: Sequence[NewDelivery], now: str) -> None:
    """Enqueue outside an event's transaction (the consent engine's own decisions)."""
    async with db.transaction() as conn:
        await enqueue(conn, rows, now)


async def requeue(conn: Conn, integration_id: int, key: str, now: str) -> None:
    """A dead system delivery (an order that failed for good) pending again, inside the
    caller's transaction: asking for the export again is asking to retry it."""
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
        " updated_at = ? WHERE integration_id = ? AND route_id = 0 AND key = ?"
        " AND status = 'dead' AND attempts > 0",
        (now, now, integration_id, key),
    )


async def open_keys(db: Database, integration_id: int, kind: str) -> set[str]:
    rows = await db.read(
        "SELECT key FROM deliveries WHERE integration_id = ? AND kind = ?"
        " AND status IN ('pending', 'retrying')",
        (integration_id, kind),
    )
    return {r[0] for r in rows}
