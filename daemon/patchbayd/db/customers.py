"""Queries on the store tables: customers, orders, events (each store's latest word)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model import StoreCustomer, StoreEvent, StoreOrder
from .database import Conn, Database, Row

# An older update (out-of-order webhooks) never overwrites a newer one.
_CUSTOMER_UPSERT = (
    "INSERT INTO customers (store, id, email, phone, first_name, last_name, created_at,"
    " updated_at, email_consent, email_consent_at, sms_consent, sms_consent_at, member,"
    " tags, properties, received_at, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (store, id) DO UPDATE SET email = excluded.email,"
    " phone = excluded.phone, first_name = excluded.first_name,"
    " last_name = excluded.last_name, created_at = excluded.created_at,"
    " updated_at = excluded.updated_at, email_consent = excluded.email_consent,"
    " email_consent_at = excluded.email_consent_at, sms_consent = excluded.sms_consent,"
    " sms_consent_at = excluded.sms_consent_at, member = excluded.member,"
    " tags = excluded.tags, properties = excluded.properties,"
    " received_at = excluded.received_at, seq = excluded.seq"
    " WHERE excluded.updated_at IS NULL OR customers.updated_at IS NULL"
    " OR excluded.updated_at >= customers.updated_at"
)


def replaces(incoming: str | None, stored: str | None) -> bool:
    """Whether an update with `updated_at` = incoming overwrites the stored row: the
    upserts' WHERE clause, for code that must predict it within a batch."""
    return not (incoming and stored and incoming < stored)


async def upsert_customers(conn: Conn, rows: Sequence[tuple[StoreCustomer, int]], now: str) -> None:
    """(customer, seq) pairs, inside the caller's transaction."""
    await conn.executemany(
        _CUSTOMER_UPSERT,
        [
            (
                c.store,
                c.id,
                c.email,
                c.phone,
                c.first_name,
                c.last_name,
                c.created_at,
                c.updated_at,
                c.email_consent,
                c.email_consent_at,
                c.sms_consent,
                c.sms_consent_at,
                json.dumps(c.member),
                json.dumps(c.tags),
                json.dumps(c.properties),
                now,
                seq,
            )
            for c, seq in rows
        ],
    )


async def upsert_orders(conn: Conn, rows: Sequence[tuple[StoreOrder, int]]) -> None:
    """Like customers, an update older than the stored one is ignored: a late or replayed
    `orders/paid` never turns a refunded order back into a paid one."""
    await conn.executemany(
        "INSERT INTO orders (store, id, customer_id, email, status, total, currency,"
        " created_at, items, seq, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (store, id) DO UPDATE SET customer_id = excluded.customer_id,"
        " email = excluded.email, status = excluded.status, total = excluded.total,"
        " currency = excluded.currency, created_at = excluded.created_at,"
        " items = excluded.items, seq = excluded.seq, updated_at = excluded.updated_at"
        " WHERE excluded.updated_at IS NULL OR orders.updated_at IS NULL"
        " OR excluded.updated_at >= orders.updated_at",
        [
            (
                o.store,
                o.id,
                o.customer_id,
                o.email,
                o.status,
                o.total,
                o.currency,
                o.created_at,
                json.dumps(o.items),
                seq,
                o.updated_at,
            )
            for o, seq in rows
        ],
    )


async def insert_events(conn: Conn, rows: Sequence[tuple[StoreEvent, int]]) -> None:
    await conn.executemany(
        "INSERT INTO events (store, id, type, occurred_at, customer_id, email, data,"
        " seq) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
        [
            (e.store, e.id, e.type, e.occurred_at, e.customer_id, e.email, json.dumps(e.data), seq)
            for e, seq in rows
        ],
    )


CUSTOMER_COLUMNS = ", ".join(
    f"c.{name}"
    for name in (
        "store",
        "id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "created_at",
        "updated_at",
        "email_consent",
        "email_consent_at",
        "sms_consent",
        "sms_consent_at",
        "member",
        "tags",
        "properties",
    )
)


def customer_from_row(row: Row) -> StoreCustomer:
    return StoreCustomer(
        store=row[0],
        id=row[1],
        email=row[2],
        phone=row[3],
        first_name=row[4],
        last_name=row[5],
        created_at=row[6],
        updated_at=row[7],
        email_consent=row[8],
        email_consent_at=row[9],
        sms_consent=row[10],
        sms_consent_at=row[11],
        member=json.loads(row[12]),
        tags=json.loads(row[13]),
        properties=json.loads(row[14]),
    )


async def find(
    db: Database,
    store: str,
    *,
    email: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
) -> list[StoreCustomer]:
    rows = await db.fetchall(
        f"SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.store = ?"  # noqa: S608
        " AND (? IS NULL OR c.email = ? COLLATE NOCASE) AND (? IS NULL OR c.id = ?)"
        " ORDER BY c.id LIMIT ?",
        (store, email, email, customer_id, customer_id, limit),
    )
    return [customer_from_row(r) for r in rows]


async def table_counts(db: Database) -> dict[str, dict[str, int]]:
    """Rows per store in customers, orders and events."""
    result: dict[str, dict[str, int]] = {}
    for table in ("customers", "orders", "events"):
        rows = await db.fetchall(f"SELECT store, count(*) FROM {table} GROUP BY store")  # noqa: S608
        for store, count in rows:
            result.setdefault(store, {})[table] = count
    return result


async def consent_of(
    db: Database, customers: Sequence[StoreCustomer]
) -> dict[tuple[str, str], tuple[str | None, str | None, str | None]]:
    """(store, id) -> (email consent, its time, updated_at) as stored now."""
    found: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
    by_store: dict[str, list[str]] = {}
    for customer in customers:
        by_store.setdefault(customer.store, []).append(customer.id)
    for store, ids in by_store.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await db.fetchall(
                f"SELECT id, email_consent, email_consent_at, updated_at"  # noqa: S608
                f" FROM customers WHERE store = ? AND id IN ({','.join('?' * len(chunk))})",
                (store, *chunk),
            )
            found.update({(store, r[0]): (r[1], r[2], r[3]) for r in rows})
    return found


async def touch(conn: Conn, rows: Sequence[tuple[str, str, int]]) -> None:
    """(store, customer id, seq): an order or event of the customer changes segment
    membership (returning, abandoned checkout), so incremental syncs must look again."""
    await conn.executemany(
        "UPDATE customers SET seq = max(seq, ?) WHERE store = ? AND id = ?",
        [(seq, store, customer_id) for store, customer_id, seq in rows],
    )


async def _by_keys(db: Database, sql: str, keys: Sequence[tuple[str, str]]) -> list[Row]:
    """Rows of (store, id) keys, a store and 500 ids per query (SQLite's variable cap)."""
    by_store: dict[str, list[str]] = {}
    for store, key in keys:
        by_store.setdefault(store, []).append(key)
    found: list[Row] = []
    for store, ids in by_store.items():
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            found += await db.fetchall(
                sql.format(marks=",".join("?" * len(chunk))), (store, *chunk)
            )
    return found


async def by_ids(
    db: Database, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], StoreCustomer]:
    """(store, customer id) -> the stored customer, for the keys that exist."""
    rows = await _by_keys(
        db,
        f"SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE c.store = ?"  # noqa: S608
        " AND c.id IN ({marks})",
        keys,
    )
    return {(r[0], r[1]): customer_from_row(r) for r in rows}


async def order_statuses(
    db: Database, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(store, order id) -> (status, updated_at) as stored now."""
    rows = await _by_keys(
        db,
        "SELECT store, id, status, updated_at FROM orders WHERE store = ? AND id IN ({marks})",
        keys,
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}
