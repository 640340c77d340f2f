"""Queries on consent_events, consent_states and consent_audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .database import Conn, Database, Row


@dataclass(frozen=True)
class ConsentEvent:
    id: int
    store: str
    email: str
    customer_id: str | None
    integration_id: int | None
    source: str
    state: str | None
    event_at: str | None


NewEvent = tuple[str, str, str | None, int | None, str, str | None, str | None]
# (store, email, customer id, integration id, source, state, event time)


async def add(conn: Conn, events: Sequence[NewEvent], now: str) -> None:
    """Inside the caller's transaction (with the customer rows or the callback)."""
    await conn.executemany(
        "INSERT INTO consent_events (store, email, customer_id, integration_id, source, state,"
        " event_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*event, now) for event in events],
    )


async def add_one(db: Database, event: NewEvent, now: str) -> None:
    async with db.transaction() as conn:
        await add(conn, [event], now)


async def fan_out(
    db: Database, integrations: Mapping[str, Sequence[int]], limit: int, now: str
) -> int:
    """Store-side events (no integration) become one event per integration of their
    store, in one commit, so each integration's queue is decided on its own and a slow
    provider holds up only its own. Returns how many store-side events were taken."""
    rows = await db.fetchall(
        "SELECT id, store, email, customer_id, source, state, event_at, received_at"
        " FROM consent_events WHERE processed_at IS NULL AND integration_id IS NULL"
        " ORDER BY id LIMIT ?",
        (limit,),
    )
    if not rows:
        return 0
    copies = [
        (store, email, customer, integration, source, state, at, received)
        for (_id, store, email, customer, source, state, at, received) in rows
        for integration in integrations.get(store, ())
    ]
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO consent_events (store, email, customer_id, integration_id, source,"
            " state, event_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            copies,
        )
        await conn.executemany(
            "UPDATE consent_events SET processed_at = ? WHERE id = ?",
            [(now, row[0]) for row in rows],
        )
    return len(rows)


async def waiting_integrations(db: Database) -> list[int]:
    """Integrations with events still to decide."""
    rows = await db.fetchall(
        "SELECT DISTINCT integration_id FROM consent_events"
        " WHERE processed_at IS NULL AND integration_id IS NOT NULL"
    )
    return [int(r[0]) for r in rows]


async def pending(db: Database, integration_id: int, limit: int, now: str) -> list[ConsentEvent]:
    """The integration's events, oldest event time first (undated ones by arrival), so one
    contact's changes are decided in the order they happened, whatever order they arrived
    in; events waiting for a retry step aside until their time."""
    rows = await db.fetchall(
        "SELECT id, store, email, customer_id, integration_id, source, state, event_at"
        " FROM consent_events WHERE processed_at IS NULL AND integration_id = ?"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        " ORDER BY coalesce(event_at, received_at), id LIMIT ?",
        (integration_id, now, limit),
    )
    return [ConsentEvent(*r) for r in rows]


async def defer(db: Database, event_ids: Sequence[int], when: str) -> None:
    """Try these again at `when` (their provider could not be reached)."""
    if event_ids:
        async with db.transaction() as conn:
            await conn.executemany(
                "UPDATE consent_events SET attempts = attempts + 1, next_attempt_at = ?"
                " WHERE id = ?",
                [(when, event_id) for event_id in event_ids],
            )


async def done(db: Database, event_ids: Sequence[int], now: str) -> None:
    if event_ids:
        async with db.transaction() as conn:
            await conn.executemany(
                "UPDATE consent_events SET processed_at = ? WHERE id = ?",
                [(now, event_id) for event_id in event_ids],
            )


async def provider_state(
    db: Database, integration_id: int, email: str
) -> tuple[str | None, str | None]:
    row = await db.fetchone(
        "SELECT state, at FROM consent_states WHERE integration_id = ? AND email = ?",
        (integration_id, email),
    )
    return (row[0], row[1]) if row else (None, None)


async def set_provider_state(
    db: Database, integration_id: int, email: str, state: str, at: str | None
) -> None:
    async with db.transaction() as conn:
        await provider_state_in(conn, integration_id, email, state, at)


async def provider_state_in(
    conn: Conn, integration_id: int, email: str, state: str, at: str | None
) -> None:
    """The same, inside the caller's transaction (the outbox records a delivered
    consent change together with its outcome)."""
    await conn.execute(
        "INSERT INTO consent_states (integration_id, email, state, at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (integration_id, email) DO UPDATE SET state = excluded.state,"
        " at = excluded.at",
        (integration_id, email, state, at),
    )


AUDIT_COLUMNS = (
    "decided_at, integration_id, store, email, customer_id, source, rule,"
    " outcome, old_state, new_state, reason, event_at"
)


async def audit(db: Database, entry: dict[str, Any]) -> None:
    async with db.transaction() as conn:
        await audit_in(conn, entry)


async def audit_in(conn: Conn, entry: dict[str, Any]) -> None:
    await conn.execute(
        f"INSERT INTO consent_audit ({AUDIT_COLUMNS})"  # noqa: S608
        " VALUES (:decided_at, :integration_id, :store, :email, :customer_id, :source,"
        " :rule, :outcome, :old_state, :new_state, :reason, :event_at)",
        entry,
    )


def _entry(row: Row) -> dict[str, Any]:
    names = ["id", *(n.strip() for n in AUDIT_COLUMNS.split(","))]
    return dict(zip(names, row, strict=True))


async def history(db: Database, email: str, limit: int = 200) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        f"SELECT id, {AUDIT_COLUMNS} FROM consent_audit WHERE email = ?"  # noqa: S608
        " ORDER BY id LIMIT ?",
        (email, limit),
    )
    return [_entry(r) for r in rows]


async def suppressed(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Opt-outs the guard held back and nothing decided since for that contact."""
    rows = await db.fetchall(
        f"SELECT a.id, {', '.join('a.' + n.strip() for n in AUDIT_COLUMNS.split(','))}"  # noqa: S608
        " FROM consent_audit a WHERE a.outcome = 'suppressed' AND NOT EXISTS ("
        " SELECT 1 FROM consent_audit b WHERE b.email = a.email"
        " AND b.integration_id IS a.integration_id AND b.id > a.id"
        " AND b.outcome IN ('applied', 'suppressed')) ORDER BY a.id DESC LIMIT ?",
        (limit,),
    )
    return [_entry(r) for r in rows]
