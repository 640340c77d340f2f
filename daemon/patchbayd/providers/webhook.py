"""Any HTTP endpoint: patchbay POSTs JSON, signed so the receiver can trust it.

`X-Patchbay-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the
integration's secret, and `X-Patchbay-Timestamp` so a receiver can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from ..clock import Clock, SystemClock, isoformat
from .base import (
    Account,
    Consent,
    Contact,
    OrderPayload,
    Provider,
    RemoteConsent,
    RowResult,
    TrackedEvent,
)
from .http import ProviderHttp, encode_json

BATCH_MAX = 500


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error") or body.get("message")
        return str(error) if error else None
    return None


def contact_json(contact: Contact) -> dict[str, Any]:
    def consent(value: Consent | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"state": value.state, "updated_at": isoformat(value.at) if value.at else None}

    return {
        "email": contact.email,
        "phone": contact.phone,
        "external_id": contact.external_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email_consent": consent(contact.email_consent),
        "sms_consent": consent(contact.sms_consent),
        "tags": list(contact.tags),
        "properties": dict(contact.properties),
    }


class Webhook(Provider):
    name = "webhook"
    batch_size = BATCH_MAX
    has_lists = False
    orders_idempotent = True  # receivers dedupe by the order id we send
    batch_sets_consent = False

    def __init__(self, http: ProviderHttp, secret: str, clock: Clock | None = None) -> None:
        super().__init__(http)
        self._secret = secret
        self.clock = clock or SystemClock()

    async def post(self, payload: Any, url: str | None = None, key: str | None = None) -> None:
        """Sign and send `payload` to the endpoint (or to `url`, a route's own); `key`
        goes as X-Patchbay-Idempotency-Key so a receiver can drop a repeat."""
        body = encode_json(payload, self.http.name)
        timestamp = str(int(self.clock.now().timestamp()))
        extra = {"X-Patchbay-Idempotency-Key": key} if key else {}
        # The URL itself, not base + "" (which would add a trailing slash).
        response = await self.http.request(
            "POST",
            url or self.http.base_url,
            content=body,
            headers={
                **extra,
                "Content-Type": "application/json",
                "X-Patchbay-Timestamp": timestamp,
                "X-Patchbay-Signature": signature(self._secret, timestamp, body),
            },
        )
        self.http.raise_for_status(response, _message)

    async def verify(self) -> Account:
        await self.post({"type": "patchbay.ping", "sent_at": isoformat(self.clock.now())})
        return Account(name="webhook endpoint")

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        await self.post(
            {
                "type": "contacts.upsert",
                "destination": destination,
                "contacts": [contact_json(c) for c in contacts],
            }
        )
        return [RowResult(c.key, True) for c in contacts]

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        return None  # a plain endpoint holds no consent we could ask about

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        await self.post(
            {
                "type": "consent.changed",
                "email": email,
                "state": consent.state,
                "updated_at": isoformat(consent.at) if consent.at else None,
            }
        )

    async def track_event(self, event: TrackedEvent) -> None:
        await self.post(
            {
                "type": event.name,
                "id": event.event_id,
                "occurred_at": isoformat(event.occurred_at),
                **event.contact(),
                "properties": dict(event.properties),
            }
        )

    async def export_order(self, order: OrderPayload) -> None:
        await self.post(
            {
                "type": "order",
                "id": order.id,
                "email": order.email,
                "status": order.status,
                "total": order.total,
                "currency": order.currency,
                "created_at": isoformat(order.created_at),
                "items": [dict(i) for i in order.items],
            }
        )
