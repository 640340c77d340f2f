"""Which route events a batch of committed store records makes (pure).

Built-in triggers come from the data that already arrives: a customer seen for the first
time is `customer.created`, a later change `customer.updated` (plus `consent.changed`
when its email consent moved); an order that turns paid is `order.paid`; events pushed
to `/ingest/{store}/events` fire under their own type (`loyalty.*`, `referral.*`,
`review.*`, custom names). Each event id is stable, so a repeat of the same change makes
the same idempotency key and no second delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..db.customers import replaces
from ..model import StoreCustomer, StoreEvent, StoreOrder
from .routes import RouteEvent

# Fired by the data itself; a pushed event with one of these names is stored but fires
# nothing, or a consent change written back to a push store would fire twice.
DERIVED = frozenset({"customer.created", "customer.updated", "consent.changed", "order.paid"})


@dataclass(frozen=True)
class Known:
    """A customer as stored before this batch."""

    email_consent: str | None
    updated_at: str | None


def customer_context(customer: StoreCustomer) -> dict[str, Any]:
    return asdict(customer)


def customer_events(
    customer: StoreCustomer, known: Known | None, seq: int, now: str
) -> list[RouteEvent]:
    """customer.created / customer.updated / consent.changed for one committed row."""
    if (
        known
        and known.updated_at
        and customer.updated_at
        and (customer.updated_at <= known.updated_at)
    ):
        return []  # not newer than what is stored: a late update or a plain repeat
    context = customer_context(customer)
    at = customer.updated_at or customer.created_at or now
    version = customer.updated_at or str(seq)
    key = f"{customer.store}:{customer.id}"
    if known is None:
        found = [
            RouteEvent(
                "customer.created",
                f"customer.created:{key}",
                customer.store,
                customer.created_at or at,
                context,
            )
        ]
    else:
        found = [
            RouteEvent(
                "customer.updated", f"customer.updated:{key}:{version}", customer.store, at, context
            )
        ]
    before = known.email_consent if known else None
    if customer.email_consent and customer.email_consent != before:
        found.append(
            RouteEvent(
                "consent.changed",
                f"consent.changed:{key}:{customer.email_consent}:{version}",
                customer.store,
                customer.email_consent_at or at,
                context,
                data={"channel": "email", "from": before, "to": customer.email_consent},
            )
        )
    return found


def order_events(
    order: StoreOrder,
    previous: tuple[str, str | None] | None,
    customer: Mapping[str, Any] | None,
    now: str,
) -> list[RouteEvent]:
    """order.paid the first time an order is seen paid (never again for the same order),
    unless the update is older than the stored one (a late `paid` after a refund)."""
    status, updated_at = previous or (None, None)
    if order.status != "paid" or status == "paid":
        return []
    if not replaces(order.updated_at, updated_at):
        return []  # the upsert ignores it, and so do routes
    context = dict(customer or {"id": order.customer_id, "email": order.email})
    context.setdefault("email", order.email)
    return [
        RouteEvent(
            "order.paid",
            f"order.paid:{order.store}:{order.id}",
            order.store,
            order.updated_at or order.created_at or now,
            context,
            order=asdict(order),
        )
    ]


def routed(event: StoreEvent) -> bool:
    """Whether a pushed event fires routes under its own type."""
    return event.type not in DERIVED


def store_event(event: StoreEvent, customer: Mapping[str, Any] | None) -> RouteEvent:
    """A pushed event under its own type; the stored customer, where known, fills in."""
    context = dict(customer or {})
    context.setdefault("id", event.customer_id)
    if event.email:
        context["email"] = event.email
    return RouteEvent(
        event.type,
        f"{event.store}:{event.id}",
        event.store,
        event.occurred_at,
        context,
        data=dict(event.data),
    )
