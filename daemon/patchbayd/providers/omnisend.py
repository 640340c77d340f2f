"""Omnisend v3 (contacts, batches) and v5 (events), header X-API-KEY.

Omnisend defaults an omitted channel status to "subscribed", so every contact carries
an explicit status with its real `statusDate`: an older date never overrides a newer
state on Omnisend's side either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..clock import isoformat, parse_time
from .base import (
    Account,
    Consent,
    ConsentState,
    Contact,
    OrderPayload,
    Provider,
    RemoteConsent,
    RowResult,
    TrackedEvent,
    order_event,
)
from .errors import Rejected

STATUS_OUT = {
    "subscribed": "subscribed",
    "unsubscribed": "unsubscribed",
    "not_subscribed": "nonSubscribed",
}
STATUS_IN: dict[str, ConsentState] = {
    "subscribed": "subscribed",
    "unsubscribed": "unsubscribed",
    "nonSubscribed": "not_subscribed",
}
BATCH_MAX = 1000


def _message(body: Any) -> str | None:
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def contact_body(contact: Contact) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = []
    if contact.email:
        identifiers.append(
            {
                "type": "email",
                "id": contact.email,
                "channels": {"email": _channel(contact.email_consent)},
            }
        )
    if contact.phone:
        identifiers.append(
            {
                "type": "phone",
                "id": contact.phone,
                "channels": {"sms": _channel(contact.sms_consent)},
            }
        )
    body: dict[str, Any] = {"identifiers": identifiers}
    if contact.first_name is not None:
        body["firstName"] = contact.first_name
    if contact.last_name is not None:
        body["lastName"] = contact.last_name
    if contact.tags:
        body["tags"] = list(contact.tags)
    if contact.properties:
        body["customProperties"] = dict(contact.properties)
    return body


def _channel(consent: Consent | None) -> dict[str, str]:
    # No consent known: say so explicitly rather than let Omnisend assume "subscribed".
    state = consent.state if consent else "not_subscribed"
    channel = {"status": STATUS_OUT[state]}
    if consent and consent.at:
        channel["statusDate"] = isoformat(consent.at)
    return channel


class Omnisend(Provider):
    name = "omnisend"
    batch_size = BATCH_MAX
    has_lists = False
    orders_idempotent = True  # eventID + eventTime dedupe
    batch_sets_consent = True

    error_message = staticmethod(_message)

    async def verify(self) -> Account:
        await self._call("GET", "/v3/contacts", params={"limit": 1})
        return Account(name="Omnisend account")

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        if len(contacts) == 1:
            return [await self._upsert_one(contacts[0])]
        batch = await self._call(
            "POST",
            "/v3/batches",
            json_body={
                "method": "POST",
                "endpoint": "contacts",
                "items": [contact_body(c) for c in contacts],
            },
        )
        batch_id = batch["batchID"]

        async def finished() -> bool | None:
            state = await self._call("GET", f"/v3/batches/{batch_id}")
            return True if state.get("status") in ("finished", "stopped") else None

        await self.poll_job(finished, f"batch {batch_id}")
        items = (
            await self._call(
                "GET", f"/v3/batches/{batch_id}/items", params={"limit": len(contacts)}
            )
        ).get("items", [])
        results = []
        for index, contact in enumerate(contacts):
            item = items[index] if index < len(items) else None
            if item is None:
                results.append(
                    RowResult(contact.key, False, f"{self.http.name}: no result for this row")
                )
                continue
            code = int(item.get("responseCode", 0))
            response = item.get("response") or {}
            if 200 <= code < 300:
                results.append(RowResult(contact.key, True, remote_id=response.get("contactID")))
            else:
                results.append(
                    RowResult(
                        contact.key,
                        False,
                        f"{self.http.name}: {_message(response) or 'rejected'} (HTTP {code})",
                    )
                )
        return results

    async def _upsert_one(self, contact: Contact) -> RowResult:
        try:
            body = await self._call("POST", "/v3/contacts", json_body=contact_body(contact))
        except Rejected as exc:
            return RowResult(contact.key, False, exc.reason)
        return RowResult(contact.key, True, remote_id=body.get("contactID"))

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        body = await self._call("GET", "/v3/contacts", params={"email": email})
        for found in body.get("contacts", []):
            for ident in found.get("identifiers", []):
                if ident.get("type") == "email" and str(ident.get("id")).lower() == email.lower():
                    channel = ident.get("channels", {}).get("email", {})
                    state = STATUS_IN.get(channel.get("status", ""), "not_subscribed")
                    return RemoteConsent(state, parse_time(channel.get("statusDate")))
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        result = await self._upsert_one(Contact(email=email, email_consent=consent))
        if not result.ok:
            raise Rejected(result.reason or f"{self.http.name}: consent change rejected")

    async def track_event(self, event: TrackedEvent) -> None:
        await self._call(
            "POST",
            "/v5/events",
            json_body={
                "eventName": event.name,
                "eventID": event.event_id,
                "eventTime": isoformat(event.occurred_at),
                "origin": "api",
                "contact": {k: v for k, v in event.contact().items() if k != "external_id"},
                "properties": dict(event.properties),
            },
        )

    async def export_order(self, order: OrderPayload) -> None:
        await self.track_event(order_event(order))
