"""How an engine changes a store: the store-writer interface that `stores/` provides.

The consent engine decides that a store must take a new consent state; how that reaches
the store is this module's business. A Shopify shop is written through its shared client
(its rate limit is the shop's, whoever calls); a push store cannot be called, so the
change is recorded through the inbox in the push format, with a consent.changed event.
Either way our own copy follows through the inbox: one way in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..clock import isoformat
from ..config import PushStore, ShopifyStore, Store
from ..db.inbox import Incoming
from ..intake.writer import InboxWriter
from ..model import ConsentState, StoreCustomer
from ..providers.base import Consent
from ..providers.errors import Transient
from .clients import StoreClients


class StoreWriter:
    def __init__(
        self, clients: StoreClients, stores: Callable[[], Mapping[str, Store]], inbox: InboxWriter
    ) -> None:
        self.clients, self.stores, self.inbox = clients, stores, inbox

    async def set_email_consent(
        self, customer: StoreCustomer, state: ConsentState, at: datetime, source: str
    ) -> None:
        """Raises ProviderError (Transient when the store is gone from the config)."""
        store = self.stores().get(customer.store)
        if isinstance(store, ShopifyStore):
            client = await self.clients.shopify(store)
            updated = await client.set_email_consent(customer.id, Consent(state, at))
            await self.inbox.add([Incoming.of(customer.store, "customers", "shopify", updated)])
            return
        if not isinstance(store, PushStore):
            raise Transient(f"store {customer.store} is not configured any more")
        stamp = isoformat(at)
        item = {
            **push_item(customer),
            "updated_at": stamp,
            "email_consent": {"state": state, "updated_at": stamp},
        }
        announcement = {
            "id": f"consent-{uuid.uuid4()}",
            "type": "consent.changed",
            "occurred_at": stamp,
            "customer": {"id": customer.id, "email": customer.email},
            "data": {"state": state, "source": source},
        }
        await self.inbox.add(
            [
                Incoming.of(customer.store, "customers", "ingest", item),
                Incoming.of(customer.store, "events", "ingest", announcement),
            ]
        )


def push_item(customer: StoreCustomer) -> dict[str, Any]:
    """A customer row in the push ingest format (how patchbay writes to a push store)."""

    def consent(state: str | None, at: str | None) -> dict[str, Any] | None:
        return {"state": state, "updated_at": at} if state else None

    item: dict[str, Any] = {
        "id": customer.id,
        "email": customer.email,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "email_consent": consent(customer.email_consent, customer.email_consent_at),
        "sms_consent": consent(customer.sms_consent, customer.sms_consent_at),
        "member": customer.member,
        "tags": customer.tags,
        "properties": customer.properties,
    }
    return {k: v for k, v in item.items() if v is not None}
