"""Queries on the customers table: each store's customers as it last described them."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model import StoreCustomer
from .database import Database


async def upsert(db: Database, customers: Sequence[StoreCustomer], now: str) -> None:
    await db.executemany(
        "INSERT INTO customers (store, id, email, phone, first_name, last_name, created_at,"
        " updated_at, email_consent, email_consent_at, sms_consent, sms_consent_at, member,"
        " tags, properties, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (store, id) DO UPDATE SET email = excluded.email,"
        " phone = excluded.phone, first_name = excluded.first_name,"
        " last_name = excluded.last_name, created_at = excluded.created_at,"
        " updated_at = excluded.updated_at, email_consent = excluded.email_consent,"
        " email_consent_at = excluded.email_consent_at, sms_consent = excluded.sms_consent,"
        " sms_consent_at = excluded.sms_consent_at, member = excluded.member,"
        " tags = excluded.tags, properties = excluded.properties,"
        " received_at = excluded.received_at",
        [(c.store, c.id, c.email, c.phone, c.first_name, c.last_name, c.created_at,
          c.updated_at, c.email_consent, c.email_consent_at, c.sms_consent, c.sms_consent_at,
          json.dumps(c.member), json.dumps(c.tags), json.dumps(c.properties), now)
         for c in customers])


async def counts(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT store, count(*) FROM customers GROUP BY store")
    return {r[0]: r[1] for r in rows}
