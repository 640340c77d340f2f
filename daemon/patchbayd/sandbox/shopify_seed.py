"""Deterministic fake shop data, large enough for benchmarks and messy enough to be honest.

Everything derives from the customer's sequence number, so two seeds of the same size
produce the same shop: about 60 % subscribed, a few role addresses (which Benchmark drops)
and a few invalid addresses (which every provider rejects).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import isoformat
from .shopify_store import Ids, Shop

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Klara",
    "Leon",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Rosa",
    "Simon",
)
LAST_NAMES = (
    "Becker",
    "Fischer",
    "Hoffmann",
    "Klein",
    "Koch",
    "Meyer",
    "Müller",
    "Richter",
    "Schmidt",
    "Schneider",
    "Schulz",
    "Wagner",
    "Weber",
    "Wolf",
    "Zimmermann",
)
ROLES = ("info", "sales", "support", "admin", "noreply")
YEAR = timedelta(days=365)
STEPS = 8760  # creation times fall on the hours of the past year (formatting is the hot spot)
ROLE_EVERY, INVALID_EVERY = 97, 113


class Spread:
    """ISO times for the i-th of `count` records, oldest a year ago, newest now."""

    def __init__(self, count: int, now: datetime) -> None:
        self.count, self.now = count, now
        self.cache: dict[int, str] = {}

    def at(self, i: int) -> str:
        step = (self.count - i) * STEPS // max(self.count, 1)
        if step not in self.cache:
            self.cache[step] = isoformat(self.now - YEAR * step / STEPS)
        return self.cache[step]


def email_for(n: int) -> str:
    if n % ROLE_EVERY == 0:
        return f"{ROLES[n // ROLE_EVERY % len(ROLES)]}@customer{n:05d}.example.com"
    if n % INVALID_EVERY == 0:
        return f"customer{n:05d}.example.com"
    return f"customer{n:05d}@example.com"


def consent_state(n: int) -> str:
    if n % 5 < 3:
        return "subscribed"
    return "unsubscribed" if n % 10 == 9 else "not_subscribed"


def seed_customers(shop: Shop, ids: Ids, count: int, now: datetime) -> None:
    spread = Spread(count, now)
    for i in range(count):
        n = shop.seeded + i + 1
        created = spread.at(i)
        state = consent_state(n)
        shop.add_customer(
            {
                "id": ids.next_customer(),
                "email": email_for(n),
                "phone": f"+4915{n:08d}" if n % 3 == 0 else None,
                "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
                "last_name": LAST_NAMES[n * 7 % len(LAST_NAMES)],
                "created_at": created,
                "updated_at": created,
                "tags": "vip" if n % 50 == 0 else "",
                "state": "enabled",
                "email_marketing_consent": {
                    "state": state,
                    "opt_in_level": "single_opt_in",
                    "consent_updated_at": created if state != "not_subscribed" else None,
                },
                "sms_marketing_consent": None,
                "orders_count": 0,
                "total_spent": "0.00",
                "currency": "EUR",
                "verified_email": True,
            }
        )
    shop.seeded += count


def seed_orders(shop: Shop, ids: Ids, count: int, now: datetime) -> None:
    customers = shop.customer_ids
    spread = Spread(count, now)
    for k in range(count):
        created = spread.at(k)
        customer = shop.customers[customers[k * 7919 % len(customers)]] if customers else None
        status = "refunded" if k % 25 == 0 else "pending" if k % 10 == 0 else "paid"
        prices = [10.9 + (k + j) % 90 for j in range(1 + k % 3)]
        items = [
            {
                "sku": f"SKU-{(k + j) % 100:03d}",
                "title": f"Product {(k + j) % 100}",
                "quantity": 1 + j,
                "price": f"{price:.2f}",
            }
            for j, price in enumerate(prices)
        ]
        total = sum(price * (1 + j) for j, price in enumerate(prices))
        number = len(shop.orders) + 1001
        order = {
            "id": ids.next_order(),
            "name": f"#{number}",
            "order_number": number,
            "email": customer["email"] if customer else None,
            "customer": ({"id": customer["id"], "email": customer["email"]} if customer else None),
            "financial_status": status,
            "confirmed": True,
            "total_price": f"{total:.2f}",
            "currency": "EUR",
            "created_at": created,
            "processed_at": created,
            "updated_at": created,
            "line_items": items,
        }
        shop.add_order(order)
        if customer is not None:
            customer["orders_count"] += 1
            if status == "paid":
                customer["total_spent"] = f"{float(customer['total_spent']) + total:.2f}"
