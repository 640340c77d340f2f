"""Everything patchbay knows about Shopify's payloads: the webhook topics it subscribes
to, their HMAC signature, and the customer and order resources as store records. One
module, used by the webhook endpoint (validation before commit), the inbox processor
(mapping after commit) and the store client (which topics to register).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ..model import CONSENT_STATES, StoreCustomer, StoreOrder
from .fields import Malformed, obj, text, time

TOPICS = ("customers/create", "customers/update", "orders/paid")
KINDS = {
    "customers/create": "customers",
    "customers/update": "customers",
    "orders/paid": "orders",
    "orders/create": "orders",
    "orders/updated": "orders",
}


def signature(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256 of `body`: base64 of its HMAC-SHA256 under the app secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signed(secret: str, body: bytes, given: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), signature(secret, body).encode())


def _shopifyconsent(item: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    consent = obj(item, name, "")
    if not consent:
        return None, None
    state = text(consent, "state", f"{name}.")
    if state == "pending":
        state = "not_subscribed"  # double opt-in not confirmed yet: not consent
    if state is not None and state not in CONSENT_STATES:
        raise Malformed(f"{name}.state: must be one of {', '.join(CONSENT_STATES)} or pending")
    return state, time(consent, "consent_updated_at", f"{name}.")


def customer(store: str, customer: dict[str, Any]) -> StoreCustomer:
    """A Shopify customer resource as a row of the store's customers table; every field
    is type-checked, so a hostile (but signed) webhook is refused, not stored."""
    email_state, email_at = _shopifyconsent(customer, "email_marketing_consent")
    sms_state, sms_at = _shopifyconsent(customer, "sms_marketing_consent")
    tags = customer.get("tags") or ""
    if isinstance(tags, str):
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        tag_list = list(tags)
    else:
        raise Malformed("tags: expected a comma-separated string")
    return StoreCustomer(
        store=store,
        id=str(text(customer, "id", "", required=True)),
        email=text(customer, "email", ""),
        phone=text(customer, "phone", ""),
        first_name=text(customer, "first_name", ""),
        last_name=text(customer, "last_name", ""),
        created_at=time(customer, "created_at", ""),
        updated_at=time(customer, "updated_at", ""),
        email_consent=email_state,
        email_consent_at=email_at,
        sms_consent=sms_state,
        sms_consent_at=sms_at,
        tags=tag_list,
    )


def order(store: str, order: dict[str, Any]) -> StoreOrder:
    financial = text(order, "financial_status", "")
    status = {"paid": "paid", "refunded": "refunded", "voided": "cancelled"}.get(
        str(financial), "confirmed" if order.get("confirmed") is True else "pending"
    )
    customer = obj(order, "customer", "")
    lines = order.get("line_items") or []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise Malformed("line_items: expected a list of objects")
    return StoreOrder(
        store=store,
        id=str(text(order, "id", "", required=True)),
        customer_id=text(customer, "id", "customer."),
        email=text(order, "email", "") or text(customer, "email", "customer."),
        status=status,
        total=text(order, "total_price", ""),
        currency=text(order, "currency", ""),
        created_at=time(order, "created_at", ""),
        items=[
            {
                "sku": line.get("sku"),
                "name": line.get("title"),
                "quantity": line.get("quantity"),
                "price": line.get("price"),
            }
            for line in lines
        ],
        updated_at=time(order, "updated_at", ""),
    )


def validate(topic: str, body: Any) -> str:
    """The inbox kind of a Shopify webhook; Malformed when it is not one we can use."""
    kind = KINDS.get(topic)
    if kind is None:
        raise Malformed(f"X-Shopify-Topic {topic[:60]!r} is not one patchbay subscribes to")
    if not isinstance(body, dict):
        raise Malformed("expected a Shopify resource object")
    (customer if kind == "customers" else order)("", body)  # the processor's own mapping
    return kind
