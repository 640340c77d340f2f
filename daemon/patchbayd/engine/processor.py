"""Inbox -> store tables, in arrival order, one transaction per batch.

Runs after the request was answered, so a slow database or a bug here never costs a
store its webhook. A row that cannot be mapped or stored is quarantined with its error
(listed and replayable) instead of blocking everything behind it: when a batch fails as
a whole, its rows are applied one by one so only the culprit is set aside. Only trouble
with the database itself (locked, full, gone) stops the pass, for the supervisor to retry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass

from .. import metrics
from ..clock import Clock, isoformat
from ..cluster import LeaseLost
from ..db import Database
from ..db import consent as consent_rows
from ..db import customers as tables
from ..db import inbox as inbox_rows
from ..db import outbox as outbox_rows
from ..db.database import UNAVAILABLE, Conn
from ..intake.records import record
from ..log import Logger
from ..model import ProviderCallback, StoreCustomer, StoreEvent, StoreOrder
from .consent import store_change
from .routebook import RouteBook
from .routes import RouteEvent
from .triggers import Known, customer_events, order_events, routed, store_event

# Errors that are not the rows' fault: the batch is retried whole, never quarantined.
STOP: tuple[type[Exception], ...] = (LeaseLost, *UNAVAILABLE)

# (store, customer id) -> (email consent, its time, updated_at), as stored
Stored = dict[tuple[str, str], tuple[str | None, str | None, str | None]]

BATCH = 2000
GATHER_SECONDS = 0.05  # let a burst of single-item requests land, then take them together


class InboxProcessor:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        on_change: Callable[[set[str]], None],
        on_consent: Callable[[], None] = lambda: None,
        reconciled: Callable[[], set[str]] = set,
        routes: RouteBook | None = None,
        on_deliveries: Callable[[set[int]], None] = lambda ids: None,
    ) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.on_change = on_change  # told which stores changed, after each commit
        self.on_consent = on_consent  # told when consent events were queued
        self.reconciled = reconciled  # stores with an integration: only theirs need events
        self.routes = routes  # deliveries are planned into the same transaction
        self.on_deliveries = on_deliveries  # told which integrations have new deliveries
        self.wake = asyncio.Event()
        # Run first in each batch's transaction (several daemons: fails it unless this
        # daemon still holds the inbox lease); raises LeaseLost.
        self.fence: Callable[[Conn], Awaitable[None]] | None = None
        self.quarantined = 0  # rows set aside now (status and metrics read it)

    async def start(self) -> None:
        self.quarantined = await inbox_rows.quarantined_count(self.db)

    async def replay(self, inbox_id: int) -> bool:
        """Take a quarantined row back (after a fix); False if there is none by that id."""
        found = await inbox_rows.replay(self.db, inbox_id)
        if found:
            self.quarantined = await inbox_rows.quarantined_count(self.db)
            self.log.info("quarantined inbox row replayed", inbox=inbox_id)
            self.wake.set()
        return found

    async def run(self) -> None:
        while True:
            self.wake.clear()  # before reading: a commit during the pass is not lost
            if not await self.process_once():
                await self.wake.wait()
                await asyncio.sleep(GATHER_SECONDS)

    async def _stored(self, customers: list[tuple[StoreCustomer, int]]) -> Stored:
        """The batch's customers as the table held them before it: one read, shared by
        the consent changes and the route events (each judges against a copy)."""
        if not customers:
            return {}
        wanted = self.reconciled()
        routed_customers = self.routes is not None and any(
            self.routes.wants(t)
            for t in ("customer.created", "customer.updated", "consent.changed")
        )
        if not routed_customers and not any(c.store in wanted for c, _ in customers):
            return {}
        return await tables.consent_of(self.db, [c for c, _ in customers])

    def _consent_changes(
        self, customers: list[tuple[StoreCustomer, int]], known: Stored
    ) -> list[consent_rows.NewEvent]:
        """Consent events the batch carries, against what the table held before it."""
        wanted = self.reconciled()
        events: list[consent_rows.NewEvent] = []
        for customer, _seq in customers:
            if customer.store not in wanted:
                continue
            key = (customer.store, customer.id)
            stored = known.get(key)
            change = store_change(
                stored[:2] if stored else None,
                customer.email_consent,
                customer.email_consent_at,
                customer.created_at,
                customer.updated_at,
            )
            if change is None or not customer.email:
                continue
            # An older row is rejected by the upsert (its event is judged stale).
            if tables.replaces(customer.updated_at, stored[2] if stored else None):
                known[key] = (
                    customer.email_consent,
                    customer.email_consent_at,
                    customer.updated_at,
                )
            source, state, at = change
            events.append(
                (customer.store, customer.email.lower(), customer.id, None, source, state, at)
            )
        return events

    async def process_once(self) -> int:
        batch = await inbox_rows.pending(self.db, BATCH)
        if not batch:
            return 0
        if self.routes is not None:
            await self.routes.catch_up()  # a route another daemon put in force meanwhile
        mapped, failed = classify(batch)
        try:
            await self._apply(mapped)
        except STOP:
            raise  # the database itself (or the lease), not a row: retried as a whole
        except Exception as exc:
            self.log.warning(
                "inbox batch could not be applied; applying it row by row",
                rows=len(mapped),
                error=type(exc).__name__,
            )
            for one in mapped:
                try:
                    await self._apply([one])
                except STOP:
                    raise
                except Exception as row_exc:
                    failed.append((one.inbox_id, describe(row_exc)))
        if failed:
            await self._quarantine(batch, failed)
        metrics.current().inbox_processed(len(batch) - len(failed), len(failed))
        self.on_change({row.store for row in batch})
        return len(batch)

    async def _apply(self, mapped: Sequence[Mapped]) -> None:
        """Rows into their tables and marked processed, in one transaction."""
        if not mapped:
            return
        kinds = Sorted.of(mapped)
        customers, orders, events = kinds.customers, kinds.orders, kinds.events
        now = isoformat(self.clock.now())
        stored = await self._stored(customers)
        changes = self._consent_changes(customers, dict(stored))
        changes += [
            (c.store, c.email, None, c.integration_id, "provider", c.state, c.at)
            for c in kinds.callbacks
        ]
        deliveries = (
            self.routes.deliveries(
                await self._route_events(customers, orders, events, now, dict(stored))
            )
            if self.routes and self.routes.routes
            else []
        )
        async with self.db.transaction() as conn:
            if self.fence is not None:
                await self.fence(conn)
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
            if deliveries:
                await outbox_rows.enqueue(conn, deliveries, now)
            await inbox_rows.mark(conn, [m.inbox_id for m in mapped], now)
        if changes:
            self.on_consent()
        if deliveries:
            self.on_deliveries({d.integration_id for d in deliveries if not d.refused})

    async def _route_events(
        self,
        customers: list[tuple[StoreCustomer, int]],
        orders: list[tuple[StoreOrder, int]],
        events: list[tuple[StoreEvent, int]],
        now: str,
        stored: Stored,
    ) -> list[RouteEvent]:
        """What routes see of this batch, judged against the tables as they were before
        it (a customer first seen is created; an order first seen paid is paid)."""
        assert self.routes is not None
        found: list[RouteEvent] = []
        if customers and any(
            self.routes.wants(t)
            for t in ("customer.created", "customer.updated", "consent.changed")
        ):
            known = {key: Known(value[0], value[2]) for key, value in stored.items()}
            for customer, seq in customers:
                key = (customer.store, customer.id)
                before = known.get(key)
                found += customer_events(customer, before, seq, now)
                if tables.replaces(customer.updated_at, before.updated_at if before else None):
                    known[key] = Known(customer.email_consent, customer.updated_at)
        wanted_orders = (
            [o for o, _ in orders if o.status == "paid"] if self.routes.wants("order.paid") else []
        )
        wanted_events = [e for e, _ in events if routed(e) and self.routes.wants(e.type)]
        if not wanted_orders and not wanted_events:
            return found
        keys = [(o.store, o.customer_id) for o in wanted_orders if o.customer_id]
        keys += [(e.store, e.customer_id) for e in wanted_events if e.customer_id]
        people = await tables.by_ids(self.db, keys)
        if wanted_orders:
            statuses = await tables.order_statuses(
                self.db, [(o.store, o.id) for o in wanted_orders]
            )
            for order in wanted_orders:
                person = people.get((order.store, order.customer_id or ""))
                found += order_events(
                    order,
                    statuses.get((order.store, order.id)),
                    asdict(person) if person else None,
                    now,
                )
                was = statuses.get((order.store, order.id))
                if tables.replaces(order.updated_at, was[1] if was else None):
                    statuses[(order.store, order.id)] = (order.status, order.updated_at)
        for event in wanted_events:
            person = people.get((event.store, event.customer_id or ""))
            found.append(store_event(event, asdict(person) if person else None))
        return found

    async def _quarantine(
        self, batch: Sequence[inbox_rows.Pending], failed: list[tuple[int, str]]
    ) -> None:
        await inbox_rows.quarantine(self.db, failed, isoformat(self.clock.now()))
        self.quarantined = await inbox_rows.quarantined_count(self.db)
        where = {row.id: row for row in batch}
        for inbox_id, error in failed:
            row = where[inbox_id]
            self.log.error(
                "inbox row quarantined; the rows behind it go on",
                inbox=inbox_id,
                store=row.store,
                kind=row.kind,
                source=row.source,
                error=error,
            )


@dataclass(frozen=True)
class Mapped:
    inbox_id: int
    item: StoreCustomer | StoreOrder | StoreEvent | ProviderCallback


def classify(batch: Sequence[inbox_rows.Pending]) -> tuple[list[Mapped], list[tuple[int, str]]]:
    """Each committed row as its record, or (its id, why not) when it cannot be one:
    whatever is wrong with a row, it must not stop the others."""
    mapped: list[Mapped] = []
    failed: list[tuple[int, str]] = []
    for row in batch:
        try:
            mapped.append(
                Mapped(row.id, record(row.store, row.source, row.kind, json.loads(row.payload)))
            )
        except Exception as exc:
            failed.append((row.id, describe(exc)))
    return mapped, failed


@dataclass(frozen=True)
class Sorted:
    """A batch's records by the table they go to (inbox ids kept as their seq)."""

    customers: list[tuple[StoreCustomer, int]]
    orders: list[tuple[StoreOrder, int]]
    events: list[tuple[StoreEvent, int]]
    callbacks: list[ProviderCallback]

    @classmethod
    def of(cls, mapped: Sequence[Mapped]) -> Sorted:
        return cls(
            [(m.item, m.inbox_id) for m in mapped if isinstance(m.item, StoreCustomer)],
            [(m.item, m.inbox_id) for m in mapped if isinstance(m.item, StoreOrder)],
            [(m.item, m.inbox_id) for m in mapped if isinstance(m.item, StoreEvent)],
            [m.item for m in mapped if isinstance(m.item, ProviderCallback)],
        )


def describe(exc: Exception) -> str:
    """The error as stored and logged: its kind and a bounded message (never the row)."""
    return f"{type(exc).__name__}: {str(exc)[:300]}"
