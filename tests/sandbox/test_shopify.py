from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest

from tests.sandbox.conftest import Receiver

pytestmark = pytest.mark.anyio

TOKEN = {"X-Shopify-Access-Token": "sandbox-token"}
API = "/shopify/my-shop/admin/api/2026-10"


async def seed(sandbox: httpx.AsyncClient, customers: int, orders: int = 0) -> None:
    answer = await sandbox.post(
        "/_sandbox/shopify/my-shop/seed", json={"customers": customers, "orders": orders}
    )
    assert answer.status_code == 200


async def test_good_token_reads_the_shop_and_every_answer_carries_the_call_limit(
    sandbox: httpx.AsyncClient,
) -> None:
    answer = await sandbox.get(f"{API}/shop.json", headers=TOKEN)
    assert answer.status_code == 200
    assert answer.json()["shop"]["myshopify_domain"] == "my-shop.myshopify.com"
    assert answer.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"


@pytest.mark.parametrize("headers", [{}, {"X-Shopify-Access-Token": "shpat_real"}])
async def test_wrong_or_missing_token_is_refused_like_shopify(
    sandbox: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await sandbox.get(f"{API}/customers.json", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


async def test_600_customers_page_by_link_header_in_id_order(sandbox: httpx.AsyncClient) -> None:
    await seed(sandbox, 600)
    url: str | None = f"{API}/customers.json?limit=250"
    pages = []
    while url is not None:
        answer = await sandbox.get(url, headers=TOKEN)
        assert answer.status_code == 200
        pages.append(answer.json()["customers"])
        url = answer.links.get("next", {}).get("url")
        if url is not None:
            assert url.startswith(f"http://sandbox{API}/customers.json?limit=250&page_info=")
    assert [len(page) for page in pages] == [250, 250, 100]
    ids = [c["id"] for page in pages for c in page]
    assert ids == sorted(ids) and len(set(ids)) == 600
    first = pages[0][0]
    assert first["email"] == "customer00001@example.com"
    assert set(first["email_marketing_consent"]) == {"state", "opt_in_level", "consent_updated_at"}


async def test_seed_is_deterministic_and_realistically_messy(sandbox: httpx.AsyncClient) -> None:
    await seed(sandbox, 1000, 300)
    state = (await sandbox.get("/_sandbox/shopify/state")).json()["shops"]["my-shop"]
    customers = state["customers"]
    subscribed = sum(c["email_marketing_consent"]["state"] == "subscribed" for c in customers)
    assert 550 <= subscribed <= 650
    assert any(c["email"].startswith("info@") for c in customers)
    assert any("@" not in c["email"] for c in customers)
    assert len(state["orders"]) == 300
    assert sum(c["orders_count"] for c in customers) == 300
    assert state["webhooks"] == []


async def test_updated_at_min_filter_travels_in_the_cursor_and_excludes_other_filters(
    sandbox: httpx.AsyncClient, clock: object
) -> None:
    await seed(sandbox, 10)
    recent = (
        await sandbox.post("/_sandbox/shopify/my-shop/customers", json={"email": "new@example.com"})
    ).json()["customer"]
    answer = await sandbox.get(
        f"{API}/customers.json",
        params={"updated_at_min": recent["updated_at"], "limit": 1},
        headers=TOKEN,
    )
    assert [c["email"] for c in answer.json()["customers"]] == ["new@example.com"]
    assert "next" not in answer.links

    first = await sandbox.get(f"{API}/customers.json?limit=3", headers=TOKEN)
    cursor = first.links["next"]["url"].split("page_info=")[1]
    mixed = await sandbox.get(
        f"{API}/customers.json",
        params={"page_info": cursor, "updated_at_min": "2020-01-01"},
        headers=TOKEN,
    )
    assert mixed.status_code == 400
    assert "page_info" in mixed.json()["errors"]


async def test_single_customer_read_update_and_not_found(sandbox: httpx.AsyncClient) -> None:
    await seed(sandbox, 2)
    customers = (await sandbox.get(f"{API}/customers.json", headers=TOKEN)).json()["customers"]
    cid = customers[0]["id"]
    assert (await sandbox.get(f"{API}/customers/{cid}.json", headers=TOKEN)).json()["customer"][
        "id"
    ] == cid
    missing = await sandbox.get(f"{API}/customers/1.json", headers=TOKEN)
    assert (missing.status_code, missing.json()) == (404, {"errors": "Not Found"})

    change = {
        "customer": {
            "id": cid,
            "email_marketing_consent": {"state": "unsubscribed"},
            "tags": ["vip", "loyal"],
        }
    }
    updated = await sandbox.put(f"{API}/customers/{cid}.json", json=change, headers=TOKEN)
    assert updated.status_code == 200
    customer = updated.json()["customer"]
    assert customer["email_marketing_consent"]["state"] == "unsubscribed"
    assert customer["email_marketing_consent"]["consent_updated_at"] is not None
    assert customer["tags"] == "vip, loyal"

    taken = {"customer": {"email": customers[1]["email"]}}
    refused = await sandbox.put(f"{API}/customers/{cid}.json", json=taken, headers=TOKEN)
    assert refused.status_code == 422
    assert refused.json() == {"errors": {"email": ["has already been taken"]}}


async def test_webhook_registration_rejects_duplicates_and_deletes(
    sandbox: httpx.AsyncClient,
) -> None:
    hook = {
        "webhook": {
            "topic": "customers/update",
            "address": "http://127.0.0.1:9/h",
            "format": "json",
        }
    }
    created = await sandbox.post(f"{API}/webhooks.json", json=hook, headers=TOKEN)
    assert created.status_code == 201
    webhook = created.json()["webhook"]
    assert {webhook["topic"], webhook["address"], webhook["format"]} == {
        "customers/update",
        "http://127.0.0.1:9/h",
        "json",
    }
    again = await sandbox.post(f"{API}/webhooks.json", json=hook, headers=TOKEN)
    assert again.status_code == 422
    assert again.json() == {"errors": {"address": ["for this topic has already been taken"]}}
    listed = (await sandbox.get(f"{API}/webhooks.json", headers=TOKEN)).json()["webhooks"]
    assert [w["id"] for w in listed] == [webhook["id"]]
    gone = await sandbox.delete(f"{API}/webhooks/{webhook['id']}.json", headers=TOKEN)
    assert (gone.status_code, gone.json()) == (200, {})
    assert (await sandbox.get(f"{API}/webhooks.json", headers=TOKEN)).json()["webhooks"] == []


def verify(body: bytes, signature: str) -> bool:
    digest = hmac.new(b"sandbox-webhook-secret", body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)


async def test_customer_changes_fire_signed_webhooks(
    sandbox: httpx.AsyncClient, receiver: Receiver
) -> None:
    for topic in ("customers/create", "customers/update"):
        hook = {"webhook": {"topic": topic, "address": f"{receiver.url}/hooks"}}
        assert (
            await sandbox.post(f"{API}/webhooks.json", json=hook, headers=TOKEN)
        ).status_code == 201
    created = await sandbox.post(
        "/_sandbox/shopify/my-shop/customers",
        json={"email": "ann@example.com", "first_name": "Ann"},
    )
    assert created.json()["webhooks"] == [{"address": f"{receiver.url}/hooks", "status": 200}]
    cid = created.json()["customer"]["id"]
    changed = await sandbox.post(
        "/_sandbox/shopify/my-shop/customers",
        json={"email": "ann@example.com", "email_marketing_consent": {"state": "subscribed"}},
    )
    assert changed.json()["customer"]["id"] == cid

    assert [r.headers["X-Shopify-Topic"] for r in receiver.requests] == [
        "customers/create",
        "customers/update",
    ]
    delivery = receiver.requests[1]
    assert verify(delivery.body, delivery.headers["X-Shopify-Hmac-Sha256"])
    assert delivery.headers["X-Shopify-Shop-Domain"] == "my-shop.myshopify.com"
    assert delivery.headers["X-Shopify-API-Version"] == "2026-10"
    assert {"X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"} <= set(
        delivery.headers
    )
    payload = json.loads(delivery.body)
    assert payload["id"] == cid
    assert payload["email_marketing_consent"]["state"] == "subscribed"


async def test_unreachable_receiver_is_reported_not_raised(sandbox: httpx.AsyncClient) -> None:
    hook = {"webhook": {"topic": "orders/paid", "address": "http://127.0.0.1:9/nothing"}}
    await sandbox.post(f"{API}/webhooks.json", json=hook, headers=TOKEN)
    await sandbox.post("/_sandbox/shopify/my-shop/customers", json={"email": "b@example.com"})
    answer = await sandbox.post(
        "/_sandbox/shopify/my-shop/orders",
        json={"email": "b@example.com", "financial_status": "paid", "total_price": "129.90"},
    )
    assert answer.status_code == 200
    order = answer.json()["order"]
    assert order["customer"]["email"] == "b@example.com"
    [delivery] = answer.json()["webhooks"]
    assert str(delivery["status"]).startswith("error: ")
    customers = (await sandbox.get(f"{API}/customers.json", headers=TOKEN)).json()["customers"]
    assert (customers[0]["orders_count"], customers[0]["total_spent"]) == (1, "129.90")


async def test_orders_page_with_status_any(sandbox: httpx.AsyncClient) -> None:
    await seed(sandbox, 50, 120)
    answer = await sandbox.get(f"{API}/orders.json?status=any&limit=100", headers=TOKEN)
    assert len(answer.json()["orders"]) == 100
    rest = await sandbox.get(answer.links["next"]["url"], headers=TOKEN)
    assert len(rest.json()["orders"]) == 20 and "next" not in rest.links
    assert set(rest.json()["orders"][0]) >= {
        "id",
        "email",
        "customer",
        "financial_status",
        "total_price",
        "line_items",
        "processed_at",
    }


async def test_shop_names_with_hyphens_are_separate_shops(sandbox: httpx.AsyncClient) -> None:
    await sandbox.post("/_sandbox/shopify/a-b-c/customers", json={"email": "x@example.com"})
    shops = (await sandbox.get("/_sandbox/shopify/state")).json()["shops"]
    assert list(shops) == ["a-b-c"]
    answer = await sandbox.get(f"{API.replace('my-shop', 'a-b-c')}/customers.json", headers=TOKEN)
    assert [c["email"] for c in answer.json()["customers"]] == ["x@example.com"]


async def test_put_announces_customers_update_after_answering(
    sandbox: httpx.AsyncClient, receiver: Receiver
) -> None:
    hook = {"webhook": {"topic": "customers/update", "address": f"{receiver.url}/u"}}
    await sandbox.post(f"{API}/webhooks.json", json=hook, headers=TOKEN)
    created = await sandbox.post(
        "/_sandbox/shopify/my-shop/customers", json={"email": "c@example.com"}
    )
    cid = created.json()["customer"]["id"]
    change = {"customer": {"id": cid, "email_marketing_consent": {"state": "subscribed"}}}
    await sandbox.put(f"{API}/customers/{cid}.json", json=change, headers=TOKEN)
    deliveries = (await sandbox.get("/_sandbox/shopify/state")).json()["shops"]["my-shop"][
        "deliveries"
    ]
    assert [(d["topic"], d["status"]) for d in deliveries] == [("customers/update", 200)]
    assert json.loads(receiver.requests[0].body)["email_marketing_consent"]["state"] == (
        "subscribed"
    )


async def test_seeding_100k_customers_is_quick_and_pages_by_250(sandbox: httpx.AsyncClient) -> None:
    started = time.monotonic()
    answer = await sandbox.post("/_sandbox/shopify/big/seed", json={"customers": 100_000})
    assert answer.json() == {"customers": 100_000, "orders": 0}
    assert time.monotonic() - started < 5
    last = await sandbox.get(
        "/shopify/big/admin/api/2026-10/customers.json?limit=250", headers=TOKEN
    )
    assert len(last.json()["customers"]) == 250 and "next" in last.links
