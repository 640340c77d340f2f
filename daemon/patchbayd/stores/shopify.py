"""A Shopify shop through its Admin REST API: read customers and orders page by page,
write consent back, and register the webhooks patchbay listens to.

Paging follows the `Link: <...page_info=...>; rel="next"` header, so memory stays bounded
however big the shop is. Calls share the store's own rate limiter (Shopify's leaky
bucket: 40 burst, 2/s) and the provider error taxonomy.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..clock import Clock, isoformat
from ..config import ShopifyStore
from ..intake.shopify import TOPICS
from ..providers.base import Consent
from ..providers.errors import Transient
from ..providers.http import ProviderHttp
from ..providers.ratelimit import Limit, RateLimiter

PAGE_SIZE = 250
LIMIT = Limit(2, 1.0, burst=40)
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _message(body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors is None:
        return None
    if isinstance(errors, dict):
        return "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in errors.items())
    return str(errors)


def next_page(link_header: str | None) -> str | None:
    """The rel="next" URL of a Link header, if any."""
    if not link_header:
        return None
    for part in link_header.split(","):
        match = NEXT_LINK.search(part)
        if match:
            return match.group(1)
    return None


class ShopifyClient:
    def __init__(
        self,
        store: ShopifyStore,
        clock: Clock,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.http = ProviderHttp(
            f"Shopify {store.shop}",
            f"{store.base_url}/admin/api/{store.api_version}",
            limiter=RateLimiter(LIMIT, clock),
            secrets=[store.access_token.reveal()],
            headers={"X-Shopify-Access-Token": store.access_token.reveal()},
            timeout=timeout,
            transport=transport,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        self.http.raise_for_status(response, _message)
        return self.http.json(response)

    async def shop(self) -> dict[str, Any]:
        body = await self._call("GET", "/shop.json")
        shop: dict[str, Any] = body["shop"]
        return shop

    async def _pages(
        self, path: str, key: str, params: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        url: str | None = path
        query: dict[str, Any] | None = {"limit": PAGE_SIZE, **params}
        while url:
            response = await self.http.request("GET", url, params=query)
            self.http.raise_for_status(response, _message)
            yield list(self.http.json(response).get(key, []))
            url = next_page(response.headers.get("link"))
            query = None  # the next link carries page_info and limit itself

    def customers(self, updated_since: str | None = None) -> AsyncIterator[list[dict[str, Any]]]:
        params = {"updated_at_min": updated_since} if updated_since else {}
        return self._pages("/customers.json", "customers", params)

    def orders(self) -> AsyncIterator[list[dict[str, Any]]]:
        return self._pages("/orders.json", "orders", {"status": "any"})

    async def set_email_consent(self, customer_id: int | str, consent: Consent) -> dict[str, Any]:
        """Write a consent decision back to the shop (fires Shopify's customers/update)."""
        numeric = int(customer_id) if str(customer_id).isdigit() else customer_id
        body = await self._call(
            "PUT",
            f"/customers/{customer_id}.json",
            json_body={
                "customer": {
                    "id": numeric,
                    "email_marketing_consent": {
                        "state": consent.state,
                        "opt_in_level": "single_opt_in",
                        "consent_updated_at": isoformat(consent.at) if consent.at else None,
                    },
                }
            },
        )
        customer = body.get("customer") if isinstance(body, dict) else None
        if not isinstance(customer, dict):
            raise Transient(f"{self.http.name}: the answer to a consent update has no customer")
        return customer

    async def ensure_webhooks(self, address: str) -> list[str]:
        """Register the topics patchbay needs at `address`; returns the ones it added."""
        existing = await self._call("GET", "/webhooks.json")
        have = {(w.get("topic"), w.get("address")) for w in existing.get("webhooks", [])}
        added = []
        for topic in TOPICS:
            if (topic, address) not in have:
                await self._call(
                    "POST",
                    "/webhooks.json",
                    json_body={"webhook": {"topic": topic, "address": address, "format": "json"}},
                )
                added.append(topic)
        return added

    async def aclose(self) -> None:
        await self.http.aclose()
