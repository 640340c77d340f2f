"""Queries on orders and the order_exports ledger."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..model import StoreOrder
from .database import Conn, Database

ORDER_COLUMNS = (
    "o.store, o.id, o.customer_id, o.email, o.status, o.total, o.currency, o.created_at, o.items"
)


def _order(row: Any) -> StoreOrder:
    return StoreOrder(
        store=row[0],
        id=row[1],
        customer_id=row[2],
        email=row[3],
        status=row[4],
        total=row[5],
        currency=row[6],
        created_at=row[7],
        items=json.loads(row[8]),
    )


async def unexported(
    db: Database, integration_id: int, store: str, *, after: int, limit: int
) -> list[tuple[StoreOrder, int]]:
    """Confirmed and paid orders not at the destination yet (failed ones included), with
    their seq, after seq `after`."""
    rows = await db.fetchall(
        f"SELECT {ORDER_COLUMNS}, o.seq FROM orders o WHERE o.store = ? AND o.seq > ?"  # noqa: S608
        " AND o.status IN ('confirmed', 'paid') AND NOT EXISTS (SELECT 1 FROM order_exports e"
        " WHERE e.integration_id = ? AND e.order_id = o.id"
        " AND e.state IN ('sent', 'in_doubt', 'sending', 'queued', 'ineligible'))"
        " ORDER BY o.seq LIMIT ?",
        (store, after, integration_id, limit),
    )
    return [(_order(r), int(r[9])) for r in rows]


async def interrupted(db: Database, integration_id: int, store: str) -> list[StoreOrder]:
    """Orders whose send was under way when the daemon died."""
    rows = await db.fetchall(
        f"SELECT {ORDER_COLUMNS} FROM order_exports e JOIN orders o"  # noqa: S608
        " ON o.store = ? AND o.id = e.order_id WHERE e.integration_id = ?"
        " AND e.state = 'sending' ORDER BY o.seq",
        (store, integration_id),
    )
    return [_order(r) for r in rows]


async def mark(
    db: Database, integration_id: int, order_id: str, state: str, reason: str | None, now: str
) -> None:
    async with db.transaction() as conn:
        await mark_in(conn, integration_id, order_id, state, reason, now)


async def mark_in(
    conn: Conn,
    integration_id: int,
    order_id: str,
    state: str,
    reason: str | None,
    now: str,
    run: int | None = None,
) -> None:
    """The ledger row, inside the caller's transaction (queued with its delivery, sent or
    failed with the delivery's outcome). Queueing tags the row with the export run that
    asked for it (`run`); a feed's own export (None) and other states keep the tag, so a
    run still counts its order when a feed queues it again meanwhile."""
    await conn.execute(
        "INSERT INTO order_exports (integration_id, order_id, state, reason, attempts,"
        " updated_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id,"
        " order_id) DO UPDATE SET state = excluded.state, reason = excluded.reason,"
        " attempts = order_exports.attempts + excluded.attempts,"
        " updated_at = excluded.updated_at, run_id = CASE WHEN excluded.state IN"
        " ('queued', 'ineligible') THEN coalesce(excluded.run_id, order_exports.run_id)"
        " ELSE order_exports.run_id END",
        (integration_id, order_id, state, reason, int(state == "sending"), now, run),
    )


async def states(db: Database, integration_id: int, order_ids: Sequence[str]) -> dict[str, str]:
    """order id -> ledger state, for the given orders."""
    found: dict[str, str] = {}
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))  # placeholders only, never values
        rows = await db.fetchall(
            f"SELECT order_id, state FROM order_exports WHERE integration_id = ?"  # noqa: S608
            f" AND order_id IN ({marks})",
            (integration_id, *chunk),
        )
        found.update({r[0]: r[1] for r in rows})
    return found


async def ledger(db: Database, integration_id: int) -> dict[str, int]:
    rows = await db.fetchall(
        "SELECT state, count(*) FROM order_exports WHERE integration_id = ? GROUP BY state",
        (integration_id,),
    )
    return {r[0]: r[1] for r in rows}


async def problems(db: Database, integration_id: int, limit: int = 20) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT order_id, state, reason, attempts, updated_at FROM order_exports"
        " WHERE integration_id = ? AND state IN ('failed', 'in_doubt', 'ineligible')"
        " ORDER BY updated_at DESC LIMIT ?",
        (integration_id, limit),
    )
    return [
        {"order": r[0], "state": r[1], "reason": r[2], "attempts": r[3], "at": r[4]} for r in rows
    ]


async def finished(db: Database, integration_id: int, started: str) -> None:
    """An export that began at `started` ran to its end: requests made before it began
    are answered (one made while it ran stays, so a crash still resumes it)."""
    await db.write(
        "UPDATE order_feeds SET requested_at = NULL WHERE integration_id = ? AND requested_at <= ?",
        (integration_id, started),
    )


async def followed(db: Database) -> list[int]:
    rows = await db.fetchall("SELECT integration_id FROM order_feeds WHERE mode = 'active'")
    return [r[0] for r in rows]


async def unfinished(db: Database) -> list[int]:
    """Feeds to catch up on at start: every active one, and any export cut off."""
    rows = await db.fetchall(
        "SELECT integration_id FROM order_feeds WHERE mode = 'active' OR requested_at IS NOT NULL"
    )
    return [r[0] for r in rows]


async def under_way(db: Database, integration_id: int) -> list[str]:
    """Orders queued or being sent (an export asked for earlier, or cut off by a crash)."""
    rows = await db.fetchall(
        "SELECT order_id FROM order_exports WHERE integration_id = ?"
        " AND state IN ('queued', 'sending')",
        (integration_id,),
    )
    return [r[0] for r in rows]


# ---- export runs: the exports someone asked for, followed while they run -----------------

RUN_COLUMNS = (
    "id, integration_id, mode, state, total, resent, sent, failed, in_doubt, ineligible,"
    " waiting, error, started_at, finished_at"
)


def _run(row: Any) -> dict[str, Any]:
    return {
        "id": row[0],
        "integration": row[1],
        "mode": row[2],
        "state": row[3],
        "total": row[4],
        "resent": row[5],
        "sent": row[6],
        "failed": row[7],
        "in_doubt": row[8],
        "ineligible": row[9],
        "waiting": row[10],
        "error": row[11],
        "started_at": row[12],
        "finished_at": row[13],
    }


async def start_run(db: Database, integration_id: int, mode: str, now: str) -> dict[str, Any]:
    """A new export run (`running`) and the export request behind it, in one commit: a
    crash right after still leaves both, and the daemon resumes the run at start."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO order_feeds (integration_id, mode, created_at, requested_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (integration_id) DO UPDATE SET"
            " mode = excluded.mode, requested_at = excluded.requested_at",
            (integration_id, mode, now, now),
        )
        cursor = await conn.execute(
            "INSERT INTO order_export_runs (integration_id, mode, state, started_at)"
            " VALUES (?, ?, 'running', ?) RETURNING id",
            (integration_id, mode, now),
        )
        run_id = (await cursor.fetchone())[0]
    found = await get_run(db, integration_id, run_id)
    assert found is not None
    return found


async def set_mode(db: Database, integration_id: int, run_id: int, mode: str, now: str) -> None:
    """The feed's mode, and the running run's, only (asked again while that run goes on:
    it covers the orders, so no second export is recorded)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO order_feeds (integration_id, mode, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (integration_id) DO UPDATE SET mode = excluded.mode",
            (integration_id, mode, now),
        )
        await conn.execute("UPDATE order_export_runs SET mode = ? WHERE id = ?", (mode, run_id))


async def get_run(
    db: Database, integration_id: int, run_id: int | None = None
) -> dict[str, Any] | None:
    """One export run of the integration, or (no id) its newest."""
    if run_id is None:
        row = await db.fetchone(
            f"SELECT {RUN_COLUMNS} FROM order_export_runs WHERE integration_id = ?"  # noqa: S608
            " ORDER BY id DESC LIMIT 1",
            (integration_id,),
        )
    else:
        row = await db.fetchone(
            f"SELECT {RUN_COLUMNS} FROM order_export_runs WHERE integration_id = ?"  # noqa: S608
            " AND id = ?",
            (integration_id, run_id),
        )
    return _run(row) if row is not None else None


async def running_runs(db: Database) -> list[dict[str, Any]]:
    """Runs a stopped daemon left `running`: resumed at start."""
    rows = await db.fetchall(
        f"SELECT {RUN_COLUMNS} FROM order_export_runs WHERE state = 'running'"  # noqa: S608
        " ORDER BY id"
    )
    return [_run(r) for r in rows]


async def adopt_under_way(db: Database, integration_id: int, run_id: int) -> None:
    """Orders already queued or being sent (an earlier export's, or one a crash cut off)
    count in this run: it reports them until they are through."""
    await db.write(
        "UPDATE order_exports SET run_id = ? WHERE integration_id = ?"
        " AND state IN ('queued', 'sending')",
        (run_id, integration_id),
    )


async def run_counts(db: Database, run_id: int) -> dict[str, int]:
    """Ledger state -> orders, of the rows the run tagged."""
    rows = await db.fetchall(
        "SELECT state, count(*) FROM order_exports WHERE run_id = ? GROUP BY state", (run_id,)
    )
    return {r[0]: r[1] for r in rows}


async def set_run_total(db: Database, run_id: int, total: int, resent: int) -> None:
    await db.write(
        "UPDATE order_export_runs SET total = ?, resent = resent + ? WHERE id = ?",
        (total, resent, run_id),
    )


async def finish_run(
    db: Database,
    run_id: int,
    state: str,
    counts: dict[str, int],
    error: str | None,
    now: str,
) -> None:
    """The run's end and its final counts (the ledger may move on; these stay)."""
    await db.write(
        "UPDATE order_export_runs SET state = ?, sent = ?, failed = ?, in_doubt = ?,"
        " ineligible = ?, waiting = ?, error = ?, finished_at = ? WHERE id = ?",
        (
            state,
            counts.get("sent", 0),
            counts.get("failed", 0),
            counts.get("in_doubt", 0),
            counts.get("ineligible", 0),
            counts.get("queued", 0) + counts.get("sending", 0),
            error,
            now,
            run_id,
        ),
    )
