"""Inbox -> store tables, in arrival order, one transaction per batch.

Runs after the request was answered, so a slow database or a bug here never costs a
store its webhook. A row that cannot be mapped is marked with the reason (and logged)
instead of blocking everything behind it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from ..clock import Clock, isoformat
from ..db import Database
from ..db import consent as consent_rows
from ..db import customers as tables
from ..db import inbox as inbox_rows
from ..engine.consent import store_change
from ..log import Logger
from ..model import StoreCustomer, StoreEvent, StoreOrder
from .parse import Malformed, record

BATCH = 2000
GATHER_SECONDS = 0.05  # let a burst of single-item requests land, then take them together


class InboxProcessor:
    def __init__(self, db: Database, clock: Clock, log: Logger,
                 on_change: Callable[[set[str]], None],
                 on_consent: Callable[[], None] = lambda: None,
                 reconciled: Callable[[], set[str]] = set) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.on_change = on_change  # told which stores changed, after each commit
        self.on_consent = on_consent  # told when consent events were queued
        self.reconciled = reconciled  # stores with an integration: only theirs need events
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            self.wake.clear()  # before reading: a commit during the pass is not lost
            if not await self.process_once():
                await self.wake.wait()
                await asyncio.sleep(GATHER_SECONDS)

    async def _consent_changes(self, customers: list[tuple[StoreCustomer, int]]
                               ) -> list[consent_rows.NewEvent]:
        """Consent events the batch carries, against what the table held before it."""
        wanted = self.reconciled()
        customers = [(c, seq) for c, seq in customers if c.store in wanted]
        if not customers:
            return []
        known = await tables.consent_of(self.db, [c for c, _ in customers])
        events: list[consent_rows.NewEvent] = []
        for customer, _seq in customers:
            key = (customer.store, customer.id)
            stored = known.get(key)
            change = store_change(stored[:2] if stored else None, customer.email_consent,
                                  customer.email_consent_at, customer.created_at,
                                  customer.updated_at)
            if change is None or not customer.email:
                continue
            older = bool(stored and stored[2] and customer.updated_at
                         and customer.updated_at < stored[2])
            if not older:  # an older row is rejected by the upsert; its event is judged stale
                known[key] = (customer.email_consent, customer.email_consent_at,
                              customer.updated_at)
            source, state, at = change
            events.append((customer.store, customer.email.lower(), customer.id, None, source,
                           state, at))
        return events

    async def process_once(self) -> int:
        batch = await inbox_rows.pending(self.db, BATCH)
        if not batch:
            return 0
        customers: list[tuple[StoreCustomer, int]] = []
        orders: list[tuple[StoreOrder, int]] = []
        events: list[tuple[StoreEvent, int]] = []
        done: list[tuple[int, str | None]] = []
        for row in batch:
            try:
                item = record(row.store, row.source, row.kind, json.loads(row.payload))
            except (Malformed, ValueError, KeyError, TypeError, AttributeError) as exc:
                self.log.error("inbox item could not be processed", inbox=row.id,
                               store=row.store, kind=row.kind, reason=str(exc))
                done.append((row.id, str(exc)))
                continue
            if isinstance(item, StoreCustomer):
                customers.append((item, row.id))
            elif isinstance(item, StoreOrder):
                orders.append((item, row.id))
            else:
                events.append((item, row.id))
            done.append((row.id, None))
        now = isoformat(self.clock.now())
        changes = await self._consent_changes(customers)
        async with self.db.transaction() as conn:
            if customers:
                await tables.upsert_customers(conn, customers, now)
            if changes:
                await consent_rows.add(conn, changes, now)
            if orders:
                await tables.upsert_orders(conn, orders)
            if events:
                await tables.insert_events(conn, events)
            touched = [(o.store, o.customer_id, seq) for o, seq in orders if o.customer_id]
            touched += [(e.store, e.customer_id, seq) for e, seq in events if e.customer_id]
            if touched:
                await tables.touch(conn, touched)
            await inbox_rows.mark(conn, done, now)
        if changes:
            self.on_consent()
        self.on_change({row.store for row in batch})
        return len(batch)
