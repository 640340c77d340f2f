"""One client per store, shared by everything that calls it.

Shopify's budget (40 burst, 2 requests/s) belongs to the shop, not to a caller: the
watcher's imports and the consent engine's write-backs draw on one limiter, so together
they never exceed it. A store whose settings change (token, address) gets a new client;
the old one is closed.
"""

from __future__ import annotations

import httpx

from ..clock import Clock
from ..config import ShopifyStore
from .shopify import ShopifyClient


class StoreClients:
    def __init__(
        self,
        clock: Clock,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clock, self.timeout, self.transport = clock, timeout, transport
        self._clients: dict[str, tuple[tuple[str, ...], ShopifyClient]] = {}

    async def shopify(self, store: ShopifyStore) -> ShopifyClient:
        """The store's client, built on first use and again only when its settings change."""
        settings = (store.base_url, store.api_version, store.access_token.reveal())
        held = self._clients.get(store.name)
        if held is not None and held[0] == settings:
            return held[1]
        client = ShopifyClient(store, self.clock, timeout=self.timeout, transport=self.transport)
        self._clients[store.name] = (settings, client)
        if held is not None:
            await held[1].aclose()
        return client

    async def forget(self, keep: set[str]) -> None:
        """Close the clients of stores no longer configured."""
        for name in [n for n in self._clients if n not in keep]:
            await self._clients.pop(name)[1].aclose()

    async def aclose(self) -> None:
        await self.forget(set())
