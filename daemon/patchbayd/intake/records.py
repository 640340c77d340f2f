"""A committed inbox row -> the record its table holds, whichever way it came in."""

from __future__ import annotations

from typing import Any

from ..model import StoreCustomer, StoreEvent, StoreOrder
from . import shopify
from .push import push_customer, push_event, push_order


def record(store: str, source: str, kind: str, item: dict[str, Any]
           ) -> StoreCustomer | StoreOrder | StoreEvent:
    """A committed inbox payload as the record its table holds."""
    if source == "shopify":
        return shopify.customer(store, item) if kind == "customers" else shopify.order(store, item)
    if kind == "customers":
        return push_customer(store, item)
    return push_order(store, item) if kind == "orders" else push_event(store, item)
