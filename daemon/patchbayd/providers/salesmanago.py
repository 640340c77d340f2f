"""SALESmanago: every call is a POST whose body carries the signed auth fields.

`sha = sha1(apiKey + clientId + apiSecret)`, where apiKey is any per-client random string;
failures usually arrive as HTTP 200 with `success: false`, so every answer is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..clock import Clock, SystemClock
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
from .errors import AuthFailed, CapacityExceeded, ProviderError, Rejected
from .http import ProviderHttp

BATCH_MAX = 1000
ENVELOPE_ERRORS: tuple[tuple[str, type[ProviderError]], ...] = (
    ("not authenticated", AuthFailed),
    ("authentication", AuthFailed),
    ("owner not found", AuthFailed),
    ("limit exceeded", CapacityExceeded),
)


def _message(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    message = body.get("message")
    if isinstance(message, list):
        return "; ".join(str(m) for m in message) or None
    return str(message) if message else None


def sign(api_key: str, client_id: str, api_secret: str) -> str:
    return hashlib.sha1((api_key + client_id + api_secret).encode()).hexdigest()


class SalesManago(Provider):
    name = "salesmanago"
    batch_size = BATCH_MAX
    has_lists = False
    orders_idempotent = False  # every addContactExtEvent is a new purchase
    batch_sets_consent = False
    envelope_errors = ENVELOPE_ERRORS
    callback_query = "&key=$key$"  # SALESmanago fills in the signature

    def __init__(
        self,
        http: ProviderHttp,
        *,
        client_id: str,
        api_secret: str,
        owner: str,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(http)
        self._api_secret = api_secret
        self.client_id = client_id
        self.owner = owner
        self._api_key = secrets.token_hex(16)
        self._sha = sign(self._api_key, client_id, api_secret)
        self.clock = clock or SystemClock()

    def _auth(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "apiKey": self._api_key,
            "sha": self._sha,
            "requestTime": int(self.clock.now().timestamp() * 1000),
            "owner": self.owner,
        }

    async def _api(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.request(
            "POST", f"/api/{method}", json_body={**self._auth(), **body}
        )
        self.http.raise_for_status(response, _message)
        answer = self.http.json(response)
        if not isinstance(answer, dict):
            raise Rejected(f"{self.http.name}: unexpected answer to {method}")
        if answer.get("success") is not True:  # failures come with HTTP 200
            message = _message(answer)
            raise self.envelope_failure([message or ""], message)
        return answer

    async def verify(self) -> Account:
        await self._api("contact/hasContact", {"email": self.owner})
        return Account(name=f"SALESmanago client {self.client_id}")

    @staticmethod
    def _details(contact: Contact) -> dict[str, Any]:
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        person: dict[str, Any] = {"email": contact.email}
        if name:
            person["name"] = name
        if contact.phone:
            person["phone"] = contact.phone
        if contact.external_id:
            person["externalId"] = contact.external_id
        details: dict[str, Any] = {
            "contact": person,
            "tags": list(contact.tags),
            "properties": {k: str(v) for k, v in contact.properties.items()},
        }
        # A bulk upsert may pass an opt-out on but never forces an opt-in: someone who
        # left at SALESmanago must not be re-subscribed by a resync. Opt-ins go through
        # set_consent, decided by the consent engine.
        state = contact.email_consent.state if contact.email_consent else None
        details["forceOptIn"] = False
        details["forceOptOut"] = state == "unsubscribed"
        sms = contact.sms_consent.state if contact.sms_consent else None
        details["forcePhoneOptIn"] = False
        details["forcePhoneOptOut"] = sms == "unsubscribed"
        return details

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        answer = await self._api(
            "contact/batchupsertv2", {"upsertDetails": [self._details(c) for c in contacts]}
        )
        ids = {str(k).lower(): str(v) for k, v in (answer.get("contactIds") or {}).items()}
        failed = {
            str(f.get("email", "")).lower(): str(f.get("message"))
            for f in answer.get("failed") or []
        }
        results = []
        for contact in contacts:
            if contact.key in failed:
                reason = f"{self.http.name}: {failed[contact.key]}"
                results.append(RowResult(contact.key, False, reason))
            elif contact.key in ids:
                results.append(RowResult(contact.key, True, remote_id=ids[contact.key]))
            else:
                results.append(RowResult(contact.key, False, f"{self.http.name}: not acknowledged"))
        return results

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        answer = await self._api("contact/basic", {"email": [email]})
        for found in answer.get("contacts") or []:
            if str(found.get("email", "")).lower() == email.lower():
                modified = found.get("modifiedOn")
                at = (
                    datetime.fromtimestamp(modified / 1000, UTC)
                    if isinstance(modified, int | float)
                    else None
                )
                return RemoteConsent("unsubscribed" if found.get("optedOut") else "subscribed", at)
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        if consent.state == "not_subscribed":
            return
        # upsert with force flags, not /optin|/optout: those refuse unknown contacts
        subscribed = consent.state == "subscribed"
        await self._api(
            "contact/upsert",
            {"contact": {"email": email}, "forceOptIn": subscribed, "forceOptOut": not subscribed},
        )

    async def track_event(self, event: TrackedEvent) -> None:
        await self._api(
            "v2/contact/addContactExtEvent",
            {
                "email": event.email,
                "contactEvent": {
                    "date": int(event.occurred_at.timestamp() * 1000),
                    "contactExtEventType": "OTHER",
                    "description": event.name,
                    "externalId": event.event_id,
                    "value": event.properties.get("value"),
                    "products": event.properties.get("products"),
                },
            },
        )

    async def export_order(self, order: OrderPayload) -> None:
        await self._api(
            "v2/contact/addContactExtEvent",
            {
                "email": order.email,
                "contactEvent": {
                    "date": int(order.created_at.timestamp() * 1000),
                    "contactExtEventType": "PURCHASE",
                    "externalId": order.id,
                    "value": float(order.total) if order.total else None,
                    "products": ",".join(
                        str(i.get("sku") or i.get("name") or "") for i in order.items
                    ),
                    "description": f"order {order.id} ({order.status})",
                },
            },
        )

    def callback_accepted(self, email: str, fields: Mapping[str, Any]) -> bool:
        """SALESmanago signs each callback: key = sha1(email + the API secret)."""
        expected = hashlib.sha1((email + self._api_secret).encode()).hexdigest()
        return hmac.compare_digest(str(fields.get("key", "")).encode(), expected.encode())
