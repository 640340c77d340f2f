"""A Shopify shop's data: customers, orders, webhook subscriptions, and the changes to them
that Shopify announces by webhook.

Customers are kept by id with a sorted id list beside them, because Shopify pages by id
and a shop here may hold 100,000 of them; an email index makes "match by email" cheap.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock, isoformat, parse_time
from .deliver import deliver_all
from .shopify_webhooks import Announcement, sign_deliveries

CONSENT_STATES = frozenset({"subscribed", "not_subscribed", "unsubscribed", "pending"})
OPT_IN_LEVELS = frozenset({"single_opt_in", "confirmed_opt_in", "unknown"})
TOPICS = frozenset(
    {
        "customers/create",
        "customers/update",
        "customers/delete",
        "customers/enable",
        "customers/disable",
        "customers_email_marketing_consent/update",
        "customers_marketing_consent/update",
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/delete",
        "app/uninstalled",
        "shop/update",
    }
)
READ_ONLY = frozenset({"id", "created_at", "updated_at", "admin_graphql_api_id"})
DELIVERY_LOG = 1000


class Invalid(Exception):
    """A change Shopify refuses: 422 with {"errors": {field: [reasons]}}."""

    def __init__(self, field_name: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field_name} {reason}")
        self.errors = {field_name: [reason]}
        self.status = status


@dataclass
class Shop:
    name: str
    id: int
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    customer_ids: list[int] = field(default_factory=list)  # sorted, for paging
    by_email: dict[str, int] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    order_ids: list[int] = field(default_factory=list)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    deliveries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=DELIVERY_LOG))
    seeded: int = 0

    @property
    def domain(self) -> str:
        return f"{self.name}.myshopify.com"

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "myshopify_domain": self.domain,
            "domain": self.domain,
            "email": f"owner@{self.name}.example.com",
            "currency": "EUR",
            "iana_timezone": "UTC",
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "customers": [self.customers[i] for i in self.customer_ids],
            "orders": [self.orders[i] for i in self.order_ids],
            "webhooks": list(self.webhooks.values()),
            "deliveries": list(self.deliveries),
        }

    def add_customer(self, customer: dict[str, Any]) -> None:
        """Store a new customer, keeping the id order paging relies on."""
        cid = customer["id"]
        if not self.customer_ids or cid > self.customer_ids[-1]:
            self.customer_ids.append(cid)
        else:
            bisect.insort(self.customer_ids, cid)
        self.customers[cid] = customer
        if customer.get("email"):
            self.by_email[customer["email"].lower()] = cid

    def add_order(self, order: dict[str, Any]) -> None:
        oid = order["id"]
        if not self.order_ids or oid > self.order_ids[-1]:
            self.order_ids.append(oid)
        else:
            bisect.insort(self.order_ids, oid)
        self.orders[oid] = order


class Ids:
    """Shopify-sized ids, the same sequence after every reset (repeatable tests)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.shop, self.customer = 60_000_000, 7_000_000_000
        self.order, self.webhook = 5_000_000_000, 1_000_000

    def next_customer(self) -> int:
        self.customer += 1
        return self.customer

    def next_order(self) -> int:
        self.order += 1
        return self.order


class ShopifyState:
    def __init__(self, clock: Clock, webhook_secret: str) -> None:
        self.clock, self.webhook_secret = clock, webhook_secret
        self.shops: dict[str, Shop] = {}
        self.ids = Ids()

    def reset(self) -> None:
        self.shops.clear()
        self.ids.reset()

    def snapshot(self) -> dict[str, Any]:
        return {"shops": {name: shop.snapshot() for name, shop in self.shops.items()}}

    def shop(self, name: str) -> Shop:
        if name not in self.shops:
            self.ids.shop += 1
            self.shops[name] = Shop(name, self.ids.shop)
        return self.shops[name]

    def now(self) -> str:
        return isoformat(self.clock.now())

    def upsert_customer(
        self, shop: Shop, fields: dict[str, Any], customer: dict[str, Any] | None = None
    ) -> Announcement:
        """Create or change a customer (validated first, so a refusal changes nothing)."""
        _check_customer(fields)
        email = fields.get("email")
        if customer is None:
            customer = _find(shop, fields)
        if isinstance(email, str) and email:
            holder = shop.by_email.get(email.lower())
            if holder is not None and (customer is None or holder != customer["id"]):
                raise Invalid("email", "has already been taken")
        now = self.now()
        created = customer is None
        if customer is None:
            cid = fields["id"] if isinstance(fields.get("id"), int) else None
            customer = _blank_customer(cid or self.ids.next_customer(), now)
            customer["created_at"] = fields.get("created_at", now)
        elif customer.get("email"):
            shop.by_email.pop(customer["email"].lower(), None)
        for name, value in fields.items():
            if name in ("email_marketing_consent", "sms_marketing_consent"):
                given = value if isinstance(value, dict) else None
                customer[name] = _merge_consent(customer.get(name), given, now)
            elif name == "tags":
                customer["tags"] = _tags(value)
            elif name not in READ_ONLY:
                customer[name] = value
        customer["updated_at"] = now
        if created:
            shop.add_customer(customer)
        elif customer.get("email"):
            shop.by_email[customer["email"].lower()] = customer["id"]
        topic = "customers/create" if created else "customers/update"
        return Announcement(customer, [topic])

    def upsert_order(self, shop: Shop, fields: dict[str, Any]) -> Announcement:
        _check_order(fields)
        now = self.now()
        oid = fields.get("id")
        order = shop.orders.get(oid) if isinstance(oid, int) else None
        created = order is None
        was_paid = order is not None and order.get("financial_status") == "paid"
        if order is None:
            number = len(shop.orders) + 1001
            order = {
                "id": oid if isinstance(oid, int) else self.ids.next_order(),
                "name": f"#{number}",
                "order_number": number,
                "email": None,
                "customer": None,
                "financial_status": "pending",
                "confirmed": True,
                "total_price": "0.00",
                "currency": "EUR",
                "created_at": now,
                "processed_at": now,
                "line_items": [],
            }
        for name, value in fields.items():
            if name not in ("id", "customer", "updated_at"):
                order[name] = value
        order["updated_at"] = now
        customer = _order_customer(shop, fields, order)
        if customer is not None:
            order["customer"] = {
                "id": customer["id"],
                "email": customer.get("email"),
                "first_name": customer.get("first_name"),
                "last_name": customer.get("last_name"),
            }
            order["email"] = order.get("email") or customer.get("email")
        if created:
            shop.add_order(order)
            if customer is not None:
                customer["orders_count"] = int(customer.get("orders_count") or 0) + 1
        topics = ["orders/create"] if created else ["orders/updated"]
        if order["financial_status"] == "paid" and not was_paid:
            topics.append("orders/paid")
            if customer is not None:
                _add_spent(customer, order)
        return Announcement(order, topics)

    def add_webhook(self, shop: Shop, body: object, version: str) -> dict[str, Any]:
        hook = body.get("webhook") if isinstance(body, dict) else None
        if not isinstance(hook, dict):
            raise Invalid("webhook", "is required", status=400)
        topic, address = hook.get("topic"), hook.get("address")
        if topic not in TOPICS:
            raise Invalid("topic", f"Invalid topic specified: {topic}")
        if not (isinstance(address, str) and address.startswith(("http://", "https://"))):
            raise Invalid("address", "is invalid")
        if hook.get("format", "json") != "json":
            raise Invalid("format", "is not supported")
        if any(w["topic"] == topic and w["address"] == address for w in shop.webhooks.values()):
            raise Invalid("address", "for this topic has already been taken")
        self.ids.webhook += 1
        now = self.now()
        webhook = {
            "id": self.ids.webhook,
            "topic": topic,
            "address": address,
            "format": "json",
            "created_at": now,
            "updated_at": now,
            "api_version": version,
            "fields": [],
            "metafield_namespaces": [],
        }
        shop.webhooks[webhook["id"]] = webhook
        return webhook

    async def announce(self, shop: Shop, announcement: Announcement) -> list[dict[str, Any]]:
        """Deliver to every webhook of the announced topics; each one's address and status."""
        targets = sign_deliveries(
            shop.domain, shop.webhooks.values(), announcement, self.webhook_secret, self.now()
        )
        statuses = await deliver_all([delivery for _, delivery in targets])
        results = []
        for (webhook, _), status in zip(targets, statuses, strict=True):
            results.append({"address": webhook["address"], "status": status})
            shop.deliveries.append(
                {
                    "webhook_id": webhook["id"],
                    "topic": webhook["topic"],
                    "address": webhook["address"],
                    "status": status,
                    "at": self.now(),
                }
            )
        return results


def _find(shop: Shop, fields: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(fields.get("id"), int) and fields["id"] in shop.customers:
        return shop.customers[fields["id"]]
    email = fields.get("email")
    if isinstance(email, str) and email.lower() in shop.by_email:
        return shop.customers[shop.by_email[email.lower()]]
    return None


def _blank_customer(cid: int, now: str) -> dict[str, Any]:
    return {
        "id": cid,
        "email": None,
        "phone": None,
        "first_name": None,
        "last_name": None,
        "created_at": now,
        "updated_at": now,
        "tags": "",
        "state": "enabled",
        "email_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
        },
        "sms_marketing_consent": None,
        "orders_count": 0,
        "total_spent": "0.00",
        "currency": "EUR",
        "verified_email": True,
    }


def _check_customer(fields: dict[str, Any]) -> None:
    if "id" in fields and not isinstance(fields["id"], int):
        raise Invalid("id", "must be an integer", status=400)
    email = fields.get("email")
    if email is not None and not isinstance(email, str):
        raise Invalid("email", "is invalid")
    for name in ("email_marketing_consent", "sms_marketing_consent"):
        consent = fields.get(name)
        if consent is None:
            continue
        if not isinstance(consent, dict):
            raise Invalid(name, "must be an object")
        if "state" in consent and consent["state"] not in CONSENT_STATES:
            raise Invalid(name, f"state is not included in the list: {consent['state']}")
        if "opt_in_level" in consent and consent["opt_in_level"] not in OPT_IN_LEVELS:
            raise Invalid(name, "opt_in_level is not included in the list")
        when = consent.get("consent_updated_at")
        if when is not None and parse_time(when) is None:
            raise Invalid(name, "consent_updated_at is invalid")
    tags = fields.get("tags", "")
    if not (
        isinstance(tags, str)
        or (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags))
    ):
        raise Invalid("tags", "must be a string or a list of strings")


def _merge_consent(stored: object, given: dict[str, Any] | None, now: str) -> dict[str, Any] | None:
    if given is None:
        return None
    merged = (
        dict(stored)
        if isinstance(stored, dict)
        else {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
        }
    )
    changed = given.get("state", merged["state"]) != merged["state"]
    merged.update(given)
    if changed and "consent_updated_at" not in given:
        merged["consent_updated_at"] = now
    return merged


def _tags(value: str | list[str]) -> str:
    """Shopify's form: one string, comma and space between tags."""
    parts = value.split(",") if isinstance(value, str) else value
    return ", ".join(tag.strip() for tag in parts if tag.strip())


def _check_order(fields: dict[str, Any]) -> None:
    if "id" in fields and not isinstance(fields["id"], int):
        raise Invalid("id", "must be an integer", status=400)
    status = fields.get("financial_status")
    if status is not None and status not in (
        "pending",
        "paid",
        "refunded",
        "authorized",
        "partially_paid",
        "partially_refunded",
        "voided",
    ):
        raise Invalid("financial_status", "is not included in the list")
    if (
        "customer" in fields
        and fields["customer"] is not None
        and not isinstance(fields["customer"], dict)
    ):
        raise Invalid("customer", "must be an object")


def _order_customer(
    shop: Shop, fields: dict[str, Any], order: dict[str, Any]
) -> dict[str, Any] | None:
    given = fields.get("customer") or {}
    if isinstance(given.get("id"), int) and given["id"] in shop.customers:
        return shop.customers[given["id"]]
    email = given.get("email") or order.get("email")
    if isinstance(email, str) and email.lower() in shop.by_email:
        return shop.customers[shop.by_email[email.lower()]]
    current = order.get("customer")
    if isinstance(current, dict) and current.get("id") in shop.customers:
        return shop.customers[current["id"]]
    return None


def _add_spent(customer: dict[str, Any], order: dict[str, Any]) -> None:
    spent = float(customer.get("total_spent") or 0) + float(order.get("total_price") or 0)
    customer["total_spent"] = f"{spent:.2f}"
