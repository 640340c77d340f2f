"""The Shopify Admin client against the in-process sandbox shop."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from patchbayd.clock import FakeClock
from patchbayd.config import ShopifyStore
from patchbayd.intake.shopify import customer as shopify_customer
from patchbayd.providers.base import Consent
from patchbayd.providers.errors import AuthFailed
from patchbayd.sandbox.app import build as sandbox
from patchbayd.secret import Secret
from patchbayd.stores.shopify import ShopifyClient, next_page

pytestmark = pytest.mark.anyio
SHOP = "tea-and-cake-2"


def store(token: str = "sandbox-token") -> ShopifyStore:
    return ShopifyStore(
        name="s",
        shop=SHOP,
        base_url=f"http://sb/shopify/{SHOP}",
        access_token=Secret(token),
        webhook_secret=Secret("w"),
        api_version="2026-10",
    )


@pytest.fixture
def transport() -> httpx.ASGITransport:
    return httpx.ASGITransport(app=sandbox(clock=FakeClock()))


async def seed(transport: httpx.ASGITransport, customers: int, orders: int = 0) -> None:
    async with httpx.AsyncClient(transport=transport, base_url="http://sb") as control:
        response = await control.post(
            f"/_sandbox/shopify/{SHOP}/seed", json={"customers": customers, "orders": orders}
        )
        response.raise_for_status()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        (
            '<https://x/a.json?page_info=abc&limit=250>; rel="next"',
            "https://x/a.json?page_info=abc&limit=250",
        ),
        ('<https://x/p>; rel="previous", <https://x/n>; rel="next"', "https://x/n"),
        ('<https://x/p>; rel="previous"', None),
    ],
)
def test_next_page(header: str | None, expected: str | None) -> None:
    assert next_page(header) == expected


async def test_customers_and_orders_are_read_page_by_page(transport: httpx.ASGITransport) -> None:
    await seed(transport, 600, 260)
    client = ShopifyClient(store(), FakeClock(), transport=transport)
    pages = [len(page) async for page in client.customers()]
    assert pages == [250, 250, 100]
    order_pages = [len(page) async for page in client.orders()]
    assert order_pages == [250, 10]
    await client.aclose()


async def test_consent_written_back_and_webhooks_registered_once(
    transport: httpx.ASGITransport,
) -> None:
    await seed(transport, 3)
    client = ShopifyClient(store(), FakeClock(), transport=transport)
    page = await anext(aiter(client.customers()))
    first = page[0]
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    updated = await client.set_email_consent(first["id"], Consent("unsubscribed", at))
    assert updated["email_marketing_consent"]["state"] == "unsubscribed"
    record = shopify_customer("s", updated)
    assert (record.email_consent, record.store, record.id) == (
        "unsubscribed",
        "s",
        str(first["id"]),
    )
    address = "https://hooks.example.com/webhooks/shopify/s"
    assert sorted(await client.ensure_webhooks(address)) == [
        "customers/create",
        "customers/update",
        "orders/paid",
    ]
    assert await client.ensure_webhooks(address) == []
    await client.aclose()


async def test_a_wrong_token_is_auth_failed_without_the_token(
    transport: httpx.ASGITransport,
) -> None:
    client = ShopifyClient(store("shpat_not_valid"), FakeClock(), transport=transport)
    with pytest.raises(AuthFailed) as caught:
        await client.shop()
    assert "Invalid API key or access token" in caught.value.reason
    assert "shpat_not_valid" not in caught.value.reason
    await client.aclose()


def test_shopify_customer_maps_tags_and_pending_consent() -> None:
    record = shopify_customer(
        "s",
        {
            "id": 7,
            "email": "a@b.co",
            "tags": "vip, gold ,",
            "email_marketing_consent": {"state": "pending"},
        },
    )
    assert record.tags == ["vip", "gold"]
    assert record.email_consent == "not_subscribed"  # double opt-in not confirmed: no consent
