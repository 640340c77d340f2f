"""Keeps every configured store reachable and its customers table current.

A Shopify store is set up (shop checked, webhooks registered at our public URL) and then
read page by page: customers in full the first time, afterwards only what changed since
the newest `updated_at` seen; orders in full once (the orders/paid webhook follows).
Everything read goes through the inbox, like webhooks. A store that cannot be reached
does not stop anything: it is shown as `error` with the reason and retried with a
growing delay. Push stores need nothing here; they POST to the ingest API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..clock import Clock, isoformat, normalize_time
from ..config import ShopifyStore, Store
from ..db import Database
from ..db.inbox import Incoming
from ..intake.writer import InboxWriter
from ..log import Logger
from ..providers.errors import ProviderError
from .clients import StoreClients
from .shopify import ShopifyClient

POLL_SECONDS = 60.0
RETRY_FIRST, RETRY_MAX = 5.0, 300.0
TICK = 0.5


@dataclass
class StoreState:
    name: str
    kind: str
    state: str = "connecting"  # connecting | ok | error
    reason: str | None = None
    checked_at: str | None = None
    webhooks: str | None = None
    next_due: float = 0.0
    retry: float = RETRY_FIRST
    cursor: str | None = None  # newest customer updated_at imported
    orders_read: bool = False  # orders are read in full once; orders/paid webhooks follow

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "reason": self.reason,
            "checked_at": self.checked_at,
            "webhooks": self.webhooks,
        }


class StoreWatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        inbox: InboxWriter,
        clients: StoreClients,
        webhook_base: Callable[[], str],
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.inbox = inbox
        self.clients = clients
        self.webhook_base = webhook_base
        self.poll_seconds = poll_seconds
        self.states: dict[str, StoreState] = {}

    def sync_config(self, stores: Mapping[str, Store]) -> None:
        for name in list(self.states):
            if name not in stores:
                del self.states[name]
        for name, store in stores.items():
            if name not in self.states or self.states[name].kind != store.kind:
                self.states[name] = StoreState(
                    name, store.kind, state="ok" if store.kind == "push" else "connecting"
                )

    async def run(self, stores: Callable[[], Mapping[str, Store]]) -> None:
        while True:
            current = stores()
            self.sync_config(current)
            await self.clients.forget(set(current))
            for name, store in current.items():
                state = self.states[name]
                if isinstance(store, ShopifyStore) and self.clock.monotonic() >= state.next_due:
                    await self.refresh(store, state)
            await asyncio.sleep(TICK)

    async def refresh(self, store: ShopifyStore, state: StoreState) -> None:
        client = await self.clients.shopify(store)
        try:
            if state.state != "ok":
                shop = await client.shop()
                address = f"{self.webhook_base()}/webhooks/shopify/{store.name}"
                added = await client.ensure_webhooks(address)
                state.webhooks = address
                self.log.info(
                    "shopify store connected",
                    store=store.name,
                    shop=shop.get("name", store.shop),
                    webhooks_added=len(added),
                )
            imported = await self._import(client, store, state)
        except ProviderError as exc:
            if state.state != "error" or state.reason != exc.reason:
                self.log.warning(
                    "store unreachable; retrying",
                    store=store.name,
                    reason=exc.reason,
                    retry_in=state.retry,
                )
            state.state, state.reason = "error", exc.reason
            state.next_due = self.clock.monotonic() + state.retry
            state.retry = min(RETRY_MAX, state.retry * 2)
        else:
            if imported:
                self.log.info("store customers imported", store=store.name, customers=imported)
            state.state, state.reason, state.retry = "ok", None, RETRY_FIRST
            metrics.current().store_imported(store.name, imported)
            state.next_due = self.clock.monotonic() + self.poll_seconds
        finally:
            state.checked_at = isoformat(self.clock.now())

    async def _import(self, client: ShopifyClient, store: ShopifyStore, state: StoreState) -> int:
        """Page through customers changed since the cursor into the inbox (as webhooks go)."""
        count = 0
        async for page in client.customers(updated_since=state.cursor):
            rows = []
            for customer in page:
                if "id" not in customer:
                    continue
                rows.append(Incoming.of(store.name, "customers", "shopify", customer))
                newest = normalize_time(customer.get("updated_at"))
                if newest and (state.cursor is None or newest > state.cursor):
                    state.cursor = newest
            await self.inbox.add(rows)
            count += len(rows)
        if not state.orders_read:
            async for page in client.orders():
                await self.inbox.add(
                    [
                        Incoming.of(store.name, "orders", "shopify", order)
                        for order in page
                        if "id" in order
                    ]
                )
            state.orders_read = True
        return count
