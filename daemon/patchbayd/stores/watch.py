"""Keeps every configured store reachable and its customers table current.

A Shopify store is set up (shop checked, webhooks registered at our public URL) and then
read page by page: customers in full the first time, afterwards only what changed since
the newest `updated_at` seen; orders in full once (the orders/paid webhook follows).
Everything read goes through the inbox, like webhooks. A store that cannot be reached
does not stop anything: it is shown as `error` with the reason and retried with a
growing delay. Push stores need nothing here; they POST to the ingest API.

Shopify's `updated_at_min` is inclusive, so every poll reads the newest customer again:
a row the inbox already holds is not imported again (not queued, not counted), and a
poll that finds nothing new says nothing. Where the import stands (the cursor, the next
page of a pass cut off, whether orders were read) is kept in the database after each
page's inbox commit, so a restart goes on from there: a crash re-reads at most one page
and never skips one. Shopify pages by id, not by time, which is why the cursor moves
only when a pass is complete and a pass cut off goes on from its saved next page.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..clock import Clock, isoformat, normalize_time
from ..config import ShopifyStore, Store
from ..db import Database, store_imports
from ..db import inbox as inbox_rows
from ..db.inbox import Incoming
from ..db.store_imports import ImportProgress
from ..intake.writer import InboxWriter
from ..log import Logger
from ..providers.errors import ProviderError, Rejected
from .clients import StoreClients
from .shopify import PAGE_SIZE, ShopifyClient, next_page
from .shopify import _message as shopify_message

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
    # Where the import stands (cursor, orders read), as saved; None until loaded.
    progress: ImportProgress | None = None

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
        # Whether this daemon watches the store (holds its lease; always on SQLite).
        self.owns: Callable[[str], bool] = lambda _name: True

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
                if not isinstance(store, ShopifyStore):
                    continue
                if not self.owns(name):
                    # Another daemon watches it; where the import stands is re-read from
                    # the table if this daemon takes it over.
                    state.state, state.reason, state.progress = "ok", "watched elsewhere", None
                    state.next_due = 0.0
                elif state.reason == "watched elsewhere":
                    state.state, state.reason = "connecting", None
                if self.owns(name) and self.clock.monotonic() >= state.next_due:
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
            if state.progress is None or state.progress.source != store.base_url:
                state.progress = await self._load(store)
            imported = await self._import(client, store, state.progress)
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

    async def _load(self, store: ShopifyStore) -> ImportProgress:
        """Where the store's import stood when the daemon stopped (or a fresh start)."""
        saved = await store_imports.load(self.db, store.name)
        if saved is None:
            return ImportProgress(store.base_url)
        if saved.source != store.base_url:
            self.log.info(
                "store points at another shop: reading it from the start", store=store.name
            )
            return ImportProgress(store.base_url)
        self.log.info(
            "store import goes on where it stood",
            store=store.name,
            cursor=saved.cursor,
            pass_cut_off=saved.customers_next is not None,
            orders_read=saved.orders_read,
        )
        return saved

    async def _save(self, store: ShopifyStore, progress: ImportProgress) -> None:
        await store_imports.save(self.db, store.name, progress, isoformat(self.clock.now()))

    async def _import(
        self, client: ShopifyClient, store: ShopifyStore, progress: ImportProgress
    ) -> int:
        """Page through customers changed since the cursor into the inbox (as webhooks go);
        how many were new. Each page is committed to the inbox before its progress is saved."""
        count = 0
        since = {"updated_at_min": progress.cursor} if progress.cursor else {}
        pages = self._pages(client, store, "customers", progress.customers_next, since)
        async for page, link in pages:
            rows = [
                Incoming.of(store.name, "customers", "shopify", customer)
                for customer in page
                if "id" in customer
            ]
            known = await inbox_rows.known(self.db, store.name, [r.dedupe for r in rows])
            new = [row for row in rows if row.dedupe not in known]
            if new:
                await self.inbox.add(new)
            count += len(new)
            dated = [normalize_time(c.get("updated_at")) for c in page if "id" in c]
            progress.pass_newest = _newest(progress.pass_newest, *dated)
            progress.customers_next = link
            if link is None:  # the pass is complete: the cursor moves
                progress.cursor = _newest(progress.cursor, progress.pass_newest)
                progress.pass_newest = None
            await self._save(store, progress)
        if not progress.orders_read:
            pages = self._pages(client, store, "orders", progress.orders_next, {"status": "any"})
            async for page, link in pages:
                rows = [
                    Incoming.of(store.name, "orders", "shopify", order)
                    for order in page
                    if "id" in order
                ]
                if rows:
                    await self.inbox.add(rows)
                progress.orders_next = link
                progress.orders_read = link is None
                await self._save(store, progress)
        return count

    async def _pages(
        self,
        client: ShopifyClient,
        store: ShopifyStore,
        kind: str,
        resume: str | None,
        params: dict[str, Any],
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str | None]]:
        """Pages of `kind` with the link to the next one (None on the last), from the saved
        link of a pass cut off, else from the start. A saved link Shopify no longer takes
        (or one for another shop or API version) starts the pass again: rows already in
        the inbox are recognised, so that costs requests, never a duplicate."""
        first = f"/{kind}.json"
        url: str | None = first
        query: dict[str, Any] | None = {"limit": PAGE_SIZE, **params}
        if resume and resume.startswith(f"{client.http.base_url}{first}"):
            url, query = resume, None
        while url:
            response = await client.http.request("GET", url, params=query)
            try:
                client.http.raise_for_status(response, shopify_message)
            except Rejected as exc:
                if url != resume:
                    raise
                self.log.info(
                    "the saved page of a store import was refused; reading that pass again",
                    store=store.name,
                    kind=kind,
                    reason=exc.reason,
                )
                url, query, resume = first, {"limit": PAGE_SIZE, **params}, None
                continue
            link = next_page(response.headers.get("link"))
            yield list(client.http.json(response).get(kind, [])), link
            url, query = link, None


def _newest(*times: str | None) -> str | None:
    """The latest of ISO times in our one form (they compare as text), None if none."""
    return max((t for t in times if t), default=None)
