"""Data in: push ingest and Shopify webhooks, durable before acknowledged, bad input harmless."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.postgres import BACKENDS, database_for
from tests.support import Daemon, Sandbox, sandbox_config, wait


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here runs on SQLite and on PostgreSQL."""
    yield from database_for(request.param)


TOKEN = "demo-token"
ANN = {
    "id": "c_1",
    "email": "ann@example.com",
    "first_name": "Ann",
    "created_at": "2026-11-22T10:00:00Z",
    "updated_at": "2026-11-22T10:05:00Z",
    "email_consent": {"state": "subscribed", "updated_at": "2026-11-22T10:05:00Z"},
    "member": {"points": 120, "tier": "gold"},
    "tags": ["vip"],
}


@pytest.fixture
def shop_hub(workdir: Path, sandbox: Sandbox) -> Iterator[Daemon]:
    d = Daemon(workdir, config_text=sandbox_config(sandbox.url, daemon='max_body = "4KiB"'))
    d.start()
    yield d
    d.kill()


def ingest(
    hub: Daemon,
    kind: str,
    body: Any,
    token: str = TOKEN,
    store: str = "demo",
    raw: bytes | None = None,
) -> httpx.Response:
    return httpx.post(
        hub.url(f"/ingest/{store}/{kind}"),
        content=raw if raw is not None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def customers(hub: Daemon, store: str = "demo", **query: str) -> list[dict[str, Any]]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return hub.api(f"/v1/stores/{store}/customers?{params}")["customers"]


def settled(hub: Daemon) -> dict[str, Any]:
    wait(lambda: hub.counts()["inbox_pending"] == 0)
    return hub.api("/v1/status")


def test_ingest_accepts_one_object_or_items_and_a_repeat_changes_nothing(shop_hub: Daemon) -> None:
    assert ingest(shop_hub, "customers", ANN).status_code == 202
    bob = {**ANN, "id": "c_2", "email": "bob@example.com"}
    answer = ingest(
        shop_hub, "customers", {"items": [bob, {**ANN, "id": "c_3", "email": "cy@example.com"}]}
    )
    assert answer.status_code == 202 and answer.json() == {"accepted": 2}
    order = {
        "id": "o_9",
        "customer_id": "c_1",
        "email": "ann@example.com",
        "status": "paid",
        "total": "129.90",
        "currency": "EUR",
        "created_at": "2026-11-22T11:00:00Z",
        "items": [{"sku": "T1", "name": "Tea", "quantity": 2, "price": "64.95"}],
    }
    event = {
        "id": "evt_1",
        "type": "loyalty.points_awarded",
        "occurred_at": "2026-11-22T11:00:00Z",
        "customer": {"id": "c_1", "email": "ann@example.com"},
        "data": {"points": 50},
    }
    assert ingest(shop_hub, "orders", order).status_code == 202
    assert ingest(shop_hub, "events", event).status_code == 202
    demo = next(s for s in settled(shop_hub)["stores"] if s["name"] == "demo")
    assert (demo["customers"], demo["orders"], demo["events"]) == (3, 1, 1)
    stored = customers(shop_hub, email="ANN@example.com")[0]  # case-insensitive lookup
    assert stored["member"] == {"points": 120, "tier": "gold"}
    assert stored["email_consent"] == "subscribed"
    assert stored["email_consent_at"] == "2026-11-22T10:05:00.000Z"  # one time format
    for _ in range(2):
        assert ingest(shop_hub, "customers", ANN).status_code == 202  # repeat: harmless
    assert next(s for s in settled(shop_hub)["stores"] if s["name"] == "demo")["customers"] == 3


def test_an_older_update_never_overwrites_a_newer_one(shop_hub: Daemon) -> None:
    newer = {**ANN, "first_name": "Anne", "updated_at": "2026-11-22T12:00:00Z"}
    assert ingest(shop_hub, "customers", newer).status_code == 202
    assert ingest(shop_hub, "customers", ANN).status_code == 202  # arrives late, is older
    settled(shop_hub)
    assert customers(shop_hub, id="c_1")[0]["first_name"] == "Anne"


BAD_INPUT: list[tuple[dict[str, Any], int, str, str]] = [
    ({"token": "wrong-token-7f3a"}, 401, "bearer token", "bad_token"),
    ({"store": "nope"}, 404, "no push store", "unknown_target"),
    ({"store": "shop"}, 404, "no push store", "unknown_target"),  # Shopify has no ingest
    ({"kind": "widgets"}, 404, "no push store", "unknown_target"),
    ({"raw": b"{not json"}, 400, "not valid JSON", "malformed"),
    (
        {"body": {**ANN, "email_consent": {"state": "maybe"}}},
        400,
        "email_consent.state: must be one of",
        "malformed",
    ),
    ({"body": {"items": [ANN, {**ANN, "id": None}]}}, 400, "items[1].id: required", "malformed"),
    (
        {"body": {**ANN, "created_at": "yesterday"}},
        400,
        "created_at: expected an ISO-8601",
        "malformed",
    ),
    ({"body": [ANN]}, 400, "expected a JSON object", "malformed"),
    (
        {"body": {**ANN, "properties": {"blob": "x" * 5000}}},
        413,
        "body over 4096 bytes",
        "too_large",
    ),
]


def test_bad_input_is_refused_clearly_counted_and_changes_nothing(shop_hub: Daemon) -> None:
    for case, status, words, reason in BAD_INPUT:
        args = dict(case)
        kind = args.pop("kind", "customers")
        body = args.pop("body", ANN)
        answer = ingest(shop_hub, kind, body, **args)
        assert answer.status_code == status, case
        assert words in answer.json()["error"]["message"], case
        metrics = httpx.get(shop_hub.url("/metrics")).text
        assert f'reason="{reason}",route="/ingest/{{store}}/{{kind}}"' in metrics, case
    settled(shop_hub)
    assert customers(shop_hub) == []
    assert "wrong-token-7f3a" not in shop_hub.stderr()
    assert shop_hub.stderr().count("request refused") == len(BAD_INPUT)


def sign(body: bytes, secret: str = "sandbox-webhook-secret") -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(
    hub: Daemon,
    body: dict[str, Any],
    *,
    signature: str | None = "good",
    webhook_id: str = "w-1",
    topic: str = "customers/update",
) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
        "Content-Type": "application/json",
    }
    if signature == "good":
        headers["X-Shopify-Hmac-Sha256"] = sign(raw)
    elif signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    return httpx.post(hub.url("/webhooks/shopify/shop"), content=raw, headers=headers)


SHOPIFY_CUSTOMER = {
    "id": 991,
    "email": "zoe@example.com",
    "first_name": "Zoe",
    "created_at": "2026-11-22T09:00:00-05:00",
    "updated_at": "2026-11-22T09:30:00-05:00",
    "tags": "vip, tea",
    "email_marketing_consent": {
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2026-11-22T09:30:00-05:00",
    },
}


def test_shopify_webhooks_are_verified_and_deduplicated(shop_hub: Daemon) -> None:
    settled(shop_hub)
    for bad, status in ((None, 401), ("bm90IHRoZSBobWFj", 401)):
        answer = webhook(shop_hub, SHOPIFY_CUSTOMER, signature=bad)
        assert answer.status_code == status
    forged = webhook(shop_hub, SHOPIFY_CUSTOMER, signature=sign(b"other body"))
    assert forged.status_code == 401
    assert webhook(shop_hub, SHOPIFY_CUSTOMER, topic="themes/publish").status_code == 400
    settled(shop_hub)
    assert customers(shop_hub, "shop", id="991") == []
    assert webhook(shop_hub, SHOPIFY_CUSTOMER).status_code == 200
    changed = {**SHOPIFY_CUSTOMER, "first_name": "Zed"}
    assert webhook(shop_hub, changed).status_code == 200  # same webhook id: a retry
    settled(shop_hub)
    stored = customers(shop_hub, "shop", id="991")[0]
    assert stored["first_name"] == "Zoe" and stored["tags"] == ["vip", "tea"]
    assert stored["created_at"] == "2026-11-22T14:00:00.000Z"
    assert "sandbox-webhook-secret" not in shop_hub.stderr()


def test_a_sandbox_shop_change_reaches_the_store_table_through_signed_webhooks(
    shop_hub: Daemon, sandbox: Sandbox
) -> None:
    wait(
        lambda: next(s for s in shop_hub.status()["stores"] if s["name"] == "shop")["state"] == "ok"
    )
    answer = sandbox.post(
        "/_sandbox/shopify/patchbay-demo/customers",
        {"email": "new@example.com", "first_name": "Newt"},
    )
    assert [w["status"] for w in answer["webhooks"]] == [200]
    settled(shop_hub)
    found = customers(shop_hub, "shop", email="new@example.com")
    assert found and found[0]["first_name"] == "Newt"


def test_the_same_payload_sent_again_after_a_change_applies_again(shop_hub: Daemon) -> None:
    plain = {"id": "t1", "email": "toggle@example.com", "email_consent": {"state": "subscribed"}}
    off = {**plain, "email_consent": {"state": "unsubscribed"}}
    for body in (plain, off, plain):  # no updated_at: only arrival order tells them apart
        assert ingest(shop_hub, "customers", body).status_code == 202
        settled(shop_hub)
    assert customers(shop_hub, id="t1")[0]["email_consent"] == "subscribed"
