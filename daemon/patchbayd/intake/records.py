"""A committed inbox row -> the record its table holds, whichever way it came in."""

from __future__ import annotations

import uuid
from typing import Any

from ..db.inbox import Incoming
from ..model import CONSENT_STATES, ProviderCallback, StoreCustomer, StoreEvent, StoreOrder
from . import shopify
from .jsondoc import Malformed
from .push import push_customer, push_event, push_order

CALLBACK_KIND = "consent"  # the inbox kind of an accepted provider callback


def callback_row(store: str, integration_id: int, state: str, email: str, at: str) -> Incoming:
    """The inbox row for a provider callback the web layer has accepted. Each is its own
    row (no content dedupe): a repeat is decided again and audited as the duplicate it is."""
    return Incoming.of(
        store,
        CALLBACK_KIND,
        "callback",
        {"integration": integration_id, "email": email, "state": state, "at": at},
        f"callback:{uuid.uuid4().hex}",
    )


def provider_callback(store: str, item: dict[str, Any]) -> ProviderCallback:
    integration, email, state, at = (item.get(k) for k in ("integration", "email", "state", "at"))
    if (
        not isinstance(integration, int)
        or not isinstance(email, str)
        or state not in CONSENT_STATES
        or not isinstance(at, str)
    ):
        raise Malformed("a provider callback needs integration, email, state and at")
    return ProviderCallback(store, integration, email, state, at)  # type: ignore[arg-type]


def record(
    store: str, source: str, kind: str, item: dict[str, Any]
) -> StoreCustomer | StoreOrder | StoreEvent | ProviderCallback:
    """A committed inbox payload as the record its table holds."""
    if source == "callback":
        return provider_callback(store, item)
    if source == "shopify":
        return shopify.customer(store, item) if kind == "customers" else shopify.order(store, item)
    if kind == "customers":
        return push_customer(store, item)
    return push_order(store, item) if kind == "orders" else push_event(store, item)
