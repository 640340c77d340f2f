"""Queries on syncs, sync_runs and sync_contacts, and the customer scans a run makes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..model import StoreCustomer, Sync, SyncRun
from .customers import CUSTOMER_COLUMNS, customer_from_row
from .database import Database, Row

SYNC_COLUMNS = (
    "id, integration_id, segment, destination, mode, rules, state, reason, seq_done, created_at"
)
RUN_COLUMNS = (
    'id, sync_id, state, "full", upto_seq, cursor_seq, retry_done, counts, error,'
    " started_at, finished_at"
)

# Segment membership, as SQL over the customer row `c` (parameters: :now_minus_30d).
SEGMENT_SQL = {
    "all": "1 = 1",
    "subscribers": "c.email_consent = 'subscribed'",
    "new": "c.created_at >= :new_since",
    "returning": "(SELECT count(*) FROM orders o WHERE o.store = c.store"
    " AND o.customer_id = c.id) >= 2",
    "abandoned_checkout": "EXISTS (SELECT 1 FROM events e WHERE e.store = c.store"
    " AND e.customer_id = c.id AND e.type = 'checkout.abandoned'"
    " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.store = c.store"
    " AND o.customer_id = c.id AND o.created_at >= e.occurred_at))",
}
# A customer is a duplicate when another of the store has the same address and a smaller id.
# INDEXED BY: left alone, SQLite walks the primary key for `d.id < c.id`, which makes a
# full sync quadratic (found by the 100k benchmark).
DUPLICATE_SQL = (
    "EXISTS (SELECT 1 FROM customers d INDEXED BY customers_email"
    " WHERE d.store = c.store AND d.email = c.email COLLATE NOCASE"
    " AND d.id < c.id)"
)


def _sync(row: Row) -> Sync:
    return Sync(
        id=row[0],
        integration_id=row[1],
        segment=row[2],
        destination=row[3],
        mode=row[4],
        rules=json.loads(row[5]),
        state=row[6],
        reason=row[7],
        seq_done=row[8],
        created_at=row[9],
    )


def _run(row: Row) -> SyncRun:
    return SyncRun(
        id=row[0],
        sync_id=row[1],
        state=row[2],
        full=bool(row[3]),
        upto_seq=row[4],
        cursor_seq=row[5],
        retry_done=bool(row[6]),
        counts=json.loads(row[7]),
        error=row[8],
        started_at=row[9],
        finished_at=row[10],
    )


async def create(
    db: Database,
    *,
    integration_id: int,
    segment: str,
    destination: str | None,
    mode: str,
    rules: dict[str, Any],
    now: str,
) -> Sync:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO syncs (integration_id, segment, destination, mode, rules, state,"
            " created_at) VALUES (?, ?, ?, ?, ?, 'idle', ?) RETURNING id",
            (integration_id, segment, destination, mode, json.dumps(rules), now),
        )
        new_id = int((await cursor.fetchone())[0])
    found = await get(db, new_id)
    assert found is not None
    return found


async def get(db: Database, sync_id: int) -> Sync | None:
    row = await db.fetchone(
        f"SELECT {SYNC_COLUMNS} FROM syncs"  # noqa: S608
        " WHERE id = ? AND deleted_at IS NULL",
        (sync_id,),
    )
    return _sync(row) if row else None


async def live(db: Database) -> list[Sync]:
    rows = await db.fetchall(
        f"SELECT {SYNC_COLUMNS} FROM syncs"  # noqa: S608
        " WHERE deleted_at IS NULL ORDER BY id"
    )
    return [_sync(r) for r in rows]


async def mark_requested(db: Database, sync_id: int, now: str) -> None:
    """A run owed by the daemon holding the sync's integration (several daemons)."""
    await db.write("UPDATE syncs SET requested_at = ? WHERE id = ?", (now, sync_id))


async def take_requested(db: Database, sync_ids: Sequence[int]) -> list[int]:
    """The ones among `sync_ids` with a run owed, the mark cleared: each taken once."""
    if not sync_ids:
        return []
    marks = ", ".join("?" for _ in sync_ids)
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE syncs SET requested_at = NULL"  # noqa: S608
            f" WHERE requested_at IS NOT NULL AND id IN ({marks}) RETURNING id",
            tuple(sync_ids),
        )
        return [int(r[0]) for r in await cursor.fetchall()]


async def set_state(db: Database, sync_id: int, state: str, reason: str | None) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE syncs SET state = ?, reason = ? WHERE id = ?", (state, reason, sync_id)
        )


async def delete(db: Database, sync_id: int, now: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE syncs SET deleted_at = ?, state = 'deleted' WHERE id = ?", (now, sync_id)
        )


async def max_seq(db: Database, store: str) -> int:
    row = await db.fetchone("SELECT coalesce(max(seq), 0) FROM customers WHERE store = ?", (store,))
    return int(row[0]) if row else 0


async def open_run(
    db: Database, sync_id: int, *, full: bool, upto: int, start: int, now: str
) -> SyncRun:
    """A new run scanning start < seq <= upto."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            'INSERT INTO sync_runs (sync_id, state, "full", upto_seq, cursor_seq, started_at)'
            " VALUES (?, 'running', ?, ?, ?, ?) RETURNING id",
            (sync_id, int(full), upto, start, now),
        )
        run_id = int((await cursor.fetchone())[0])
        await conn.execute(
            "UPDATE syncs SET state = 'running', reason = NULL WHERE id = ?", (sync_id,)
        )
    row = await db.fetchone(
        f"SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = ?",  # noqa: S608
        (run_id,),
    )
    assert row is not None
    return _run(row)


async def unfinished_run(db: Database, sync_id: int) -> SyncRun | None:
    row = await db.fetchone(
        f"SELECT {RUN_COLUMNS} FROM sync_runs"  # noqa: S608
        " WHERE sync_id = ? AND state = 'running' ORDER BY id DESC LIMIT 1",
        (sync_id,),
    )
    return _run(row) if row else None


async def runs(db: Database, sync_id: int, limit: int = 10) -> list[SyncRun]:
    rows = await db.fetchall(
        f"SELECT {RUN_COLUMNS} FROM sync_runs"  # noqa: S608
        " WHERE sync_id = ? ORDER BY id DESC LIMIT ?",
        (sync_id, limit),
    )
    return [_run(r) for r in rows]


async def finish_run(
    db: Database,
    run: SyncRun,
    *,
    state: str,
    counts: dict[str, Any],
    error: str | None,
    sync_state: str,
    now: str,
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE sync_runs SET state = ?, counts = ?, error = ?, finished_at = ? WHERE id = ?",
            (state, json.dumps(counts), error, now, run.id),
        )
        if state == "done":
            await conn.execute(
                "UPDATE syncs SET seq_done = max(seq_done, ?) WHERE id = ?",
                (run.upto_seq, run.sync_id),
            )
        # A stop or delete that happened meanwhile wins over the run's own ending.
        await conn.execute(
            "UPDATE syncs SET state = ?, reason = ? WHERE id = ?"
            " AND state NOT IN ('stopped', 'deleted')",
            (sync_state, error, run.sync_id),
        )


async def advance(db: Database, sync_id: int, upto: int) -> None:
    """Nothing up to `upto` concerns the sync (no segment member changed): the mark moves
    past it as a finished run's would, without a run in the history."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE syncs SET seq_done = max(seq_done, ?) WHERE id = ?", (upto, sync_id)
        )


ScanRow = tuple[StoreCustomer, int, bool]  # customer, its seq, whether it is a duplicate


async def scan(
    db: Database, store: str, segment: str, *, after: int, upto: int, limit: int, new_since: str
) -> list[ScanRow]:
    """The next page of segment members with after < seq <= upto, in seq order."""
    rows = await db.fetchall(
        f"SELECT {CUSTOMER_COLUMNS}, c.seq, {DUPLICATE_SQL} FROM customers c"  # noqa: S608
        f" WHERE c.store = :store AND c.seq > :after AND c.seq <= :upto"
        f" AND {SEGMENT_SQL[segment]} ORDER BY c.seq LIMIT :limit",
        {"store": store, "after": after, "upto": upto, "limit": limit, "new_since": new_since},
    )
    return [(customer_from_row(r), int(r[15]), bool(r[16])) for r in rows]


async def failed_rows(
    db: Database, sync_id: int, store: str, segment: str, *, after: str, limit: int, new_since: str
) -> list[ScanRow]:
    """Customers whose last send failed, after customer id `after`: retried every run."""
    rows = await db.fetchall(
        f"SELECT {CUSTOMER_COLUMNS}, c.seq, {DUPLICATE_SQL} FROM sync_contacts s"  # noqa: S608
        f" JOIN customers c ON c.store = :store AND c.id = s.customer_id"
        f" WHERE s.sync_id = :sync AND s.status = 'failed' AND s.customer_id > :after"
        f" AND {SEGMENT_SQL[segment]} ORDER BY s.customer_id LIMIT :limit",
        {"store": store, "sync": sync_id, "after": after, "limit": limit, "new_since": new_since},
    )
    return [(customer_from_row(r), int(r[15]), bool(r[16])) for r in rows]


async def states(db: Database, sync_id: int, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """customer id -> (hash, status) of what the destination last got."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT customer_id, hash, status FROM sync_contacts"  # noqa: S608
        f" WHERE sync_id = ? AND customer_id IN ({marks})",
        (sync_id, *ids),
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def record(
    db: Database,
    run: SyncRun,
    results: Sequence[tuple[str, str | None, str, str | None]],
    *,
    cursor_seq: int | None,
    retry_done: bool,
    counts: dict[str, Any],
    now: str,
) -> None:
    """(customer id, hash, status, reason) rows, with the run's progress, in one commit."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO sync_contacts (sync_id, customer_id, hash, status, reason, attempts,"
            " updated_at) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (sync_id, customer_id)"
            " DO UPDATE SET hash = coalesce(excluded.hash, sync_contacts.hash),"
            " status = excluded.status, reason = excluded.reason,"
            " attempts = sync_contacts.attempts + 1, updated_at = excluded.updated_at",
            [
                (run.sync_id, cid, digest, status, reason, now)
                for cid, digest, status, reason in results
            ],
        )
        await conn.execute(
            "UPDATE sync_runs SET cursor_seq = max(cursor_seq, ?), retry_done = ?,"
            " counts = ? WHERE id = ?",
            (cursor_seq or 0, int(retry_done), json.dumps(counts), run.id),
        )


async def failures(db: Database, sync_id: int, limit: int = 20) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT s.customer_id, c.email, s.reason, s.attempts, s.updated_at"
        " FROM sync_contacts s JOIN syncs y ON y.id = s.sync_id"
        " JOIN integrations i ON i.id = y.integration_id"
        " LEFT JOIN customers c ON c.store = i.store AND c.id = s.customer_id"
        " WHERE s.sync_id = ? AND s.status = 'failed' ORDER BY s.updated_at DESC LIMIT ?",
        (sync_id, limit),
    )
    return [
        {"customer": r[0], "email": r[1], "reason": r[2], "attempts": r[3], "at": r[4]}
        for r in rows
    ]


async def sent_count(db: Database, sync_id: int) -> int:
    row = await db.fetchone(
        "SELECT count(*) FROM sync_contacts WHERE sync_id = ? AND status = 'sent'", (sync_id,)
    )
    return int(row[0]) if row else 0


async def candidates(
    db: Database, store: str, segment: str, sync_id: int, *, new_since: str
) -> int:
    """Segment members the destination does not hold yet: what a capacity check needs."""
    row = await db.fetchone(
        f"SELECT count(*) FROM customers c WHERE c.store = :store"  # noqa: S608
        f" AND {SEGMENT_SQL[segment]} AND NOT EXISTS (SELECT 1 FROM sync_contacts s"
        f" WHERE s.sync_id = :sync AND s.customer_id = c.id AND s.status = 'sent')",
        {"store": store, "sync": sync_id, "new_since": new_since},
    )
    return int(row[0]) if row else 0


async def to_scan(
    db: Database, sync_id: int, store: str, segment: str, *, after: int, upto: int, new_since: str
) -> int:
    """How many customers a run will look at: for progress bars."""
    row = await db.fetchone(
        f"SELECT (SELECT count(*) FROM customers c WHERE c.store = :store"  # noqa: S608
        f" AND c.seq > :after AND c.seq <= :upto AND {SEGMENT_SQL[segment]})"
        f" + (SELECT count(*) FROM sync_contacts s WHERE s.sync_id = :sync"
        f" AND s.status = 'failed')",
        {"store": store, "after": after, "upto": upto, "sync": sync_id, "new_since": new_since},
    )
    return int(row[0]) if row else 0
