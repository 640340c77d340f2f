"""Queries on the integrations and audit_log tables."""

from __future__ import annotations

import json
from typing import Any

from ..model import Integration
from ..secret import Secret
from .database import Conn, Database, Row

COLUMNS = (
    "id, provider, store, state, reason, account, settings, secret, fingerprint,"
    " callback_token, created_at, last_activity_at, last_activity, disconnected_at"
)


def _row(row: Row) -> Integration:
    return Integration(
        id=row[0],
        provider=row[1],
        store=row[2],
        state=row[3],
        reason=row[4],
        account=row[5],
        settings=json.loads(row[6]),
        secret=Secret(row[7]) if row[7] else None,
        fingerprint=row[8],
        callback_token=row[9],
        created_at=row[10],
        last_activity_at=row[11],
        last_activity=row[12],
        disconnected_at=row[13],
    )


async def create(
    db: Database,
    *,
    provider: str,
    store: str,
    account: str,
    settings: dict[str, str],
    secret: Secret,
    callback_token: str,
    now: str,
) -> Integration:
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO integrations (provider, store, state, account, settings, secret,"
            " fingerprint, callback_token, created_at, last_activity_at, last_activity)"
            " VALUES (?, ?, 'connected', ?, ?, ?, ?, ?, ?, ?, 'connected')"
            " RETURNING id",
            (
                provider,
                store,
                account,
                json.dumps(settings),
                secret.reveal(),
                secret.fingerprint(),
                callback_token,
                now,
                now,
            ),
        )
        new_id = (await cursor.fetchone())[0]
        await _audit(
            conn,
            now,
            "integration.connected",
            new_id,
            {
                "provider": provider,
                "store": store,
                "account": account,
                "fingerprint": secret.fingerprint(),
            },
        )
    found = await get(db, int(new_id or 0))
    assert found is not None
    return found


async def get(db: Database, integration_id: int) -> Integration | None:
    row = await db.fetchone(
        f"SELECT {COLUMNS} FROM integrations WHERE id = ?",  # noqa: S608
        (integration_id,),
    )
    return _row(row) if row else None


async def live(db: Database) -> list[Integration]:
    rows = await db.fetchall(
        f"SELECT {COLUMNS} FROM integrations WHERE disconnected_at IS NULL"  # noqa: S608
        " ORDER BY id"
    )
    return [_row(r) for r in rows]


async def set_state(
    db: Database, integration_id: int, state: str, reason: str | None, now: str
) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE integrations SET state = ?, reason = ? WHERE id = ?",
            (state, reason, integration_id),
        )
        await _audit(
            conn, now, "integration.state", integration_id, {"state": state, "reason": reason}
        )


async def touch(db: Database, integration_id: int, activity: str, now: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE integrations SET last_activity_at = ?, last_activity = ? WHERE id = ?",
            (now, activity, integration_id),
        )


async def disconnect(db: Database, integration_id: int, now: str) -> list[int]:
    """Wipe the credential, retire the row and set its syncs in error, in one transaction
    with its audit entry: the whole disconnect, or none of it. Returns those syncs' ids."""
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE integrations SET secret = NULL, state = 'disconnected', reason = NULL,"
            " disconnected_at = ? WHERE id = ?",
            (now, integration_id),
        )
        cursor = await conn.execute(
            "SELECT id FROM syncs WHERE integration_id = ? AND deleted_at IS NULL ORDER BY id",
            (integration_id,),
        )
        syncs = [int(row[0]) for row in await cursor.fetchall()]
        await conn.execute(
            "UPDATE syncs SET state = 'error', reason = ? WHERE integration_id = ?"
            " AND deleted_at IS NULL",
            (f"integration {integration_id} was disconnected", integration_id),
        )
        await _audit(conn, now, "integration.disconnected", integration_id, {"syncs": syncs})
    return syncs


async def audit(
    db: Database, integration_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT id, ts, action, integration_id, detail FROM audit_log"
        " WHERE ? IS NULL OR integration_id = ? ORDER BY id DESC LIMIT ?",
        (integration_id, integration_id, limit),
    )
    return [
        {"id": r[0], "ts": r[1], "action": r[2], "integration": r[3], "detail": json.loads(r[4])}
        for r in reversed(rows)
    ]


async def _audit(
    conn: Conn,
    now: str,
    action: str,
    integration_id: int | None,
    detail: dict[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (ts, action, integration_id, detail) VALUES (?, ?, ?, ?)",
        (now, action, integration_id, json.dumps(detail)),
    )
