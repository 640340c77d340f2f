"""Klaviyo's JSON:API (revision-dated): profiles, bulk import jobs, subscriptions, events.

Consent is not a profile field at Klaviyo: it goes through the subscription jobs, and a
profile import never touches it. Only an explicit opt-in or opt-out from the consent
engine calls those jobs, so a contact sync can never re-subscribe anyone.
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
    Destination,
    OrderPayload,
    Provider,
    RemoteConsent,
    RowResult,
    TrackedEvent,
    order_event,
)
from .errors import Rejected
from .http import ProviderHttp

REVISION = "2026-07-15"
BULK_MAX = 10_000
CONSENT_IN: dict[str, ConsentState] = {
    "SUBSCRIBED": "subscribed",
    "UNSUBSCRIBED": "unsubscribed",
    "NEVER_SUBSCRIBED": "not_subscribed",
}


def _message(body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return None
    first = errors[0]
    return str(first.get("detail") or first.get("title") or first.get("code"))


def profile_attributes(contact: Contact) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for name, value in (
        ("email", contact.email),
        ("phone_number", contact.phone),
        ("external_id", contact.external_id),
        ("first_name", contact.first_name),
        ("last_name", contact.last_name),
    ):
        if value is not None:
            attributes[name] = value
    properties = dict(contact.properties)
    if contact.tags:
        properties["tags"] = list(contact.tags)
    if properties:
        attributes["properties"] = properties
    return attributes


class Klaviyo(Provider):
    name = "klaviyo"
    batch_size = BULK_MAX
    has_lists = True
    orders_idempotent = True  # unique_id dedupes
    batch_sets_consent = False

    error_message = staticmethod(_message)

    def __init__(self, http: ProviderHttp) -> None:
        super().__init__(http, {"revision": REVISION, "Accept": "application/vnd.api+json"})

    async def verify(self) -> Account:
        body = await self._call("GET", "/api/accounts")
        info = body["data"][0]["attributes"].get("contact_information", {})
        return Account(name=str(info.get("organization_name") or "Klaviyo account"))

    async def destinations(self) -> list[Destination]:
        body = await self._call("GET", "/api/lists")
        return [
            Destination(str(d["id"]), str(d["attributes"]["name"])) for d in body.get("data", [])
        ]

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        job = await self._call(
            "POST",
            "/api/profile-bulk-import-jobs",
            json_body={
                "data": {
                    "type": "profile-bulk-import-job",
                    "attributes": {
                        "profiles": {
                            "data": [
                                {"type": "profile", "attributes": profile_attributes(c)}
                                for c in contacts
                            ]
                        }
                    },
                }
            },
        )
        job_id = job["data"]["id"]

        async def completed() -> bool | None:
            state = await self._call("GET", f"/api/profile-bulk-import-jobs/{job_id}")
            return (
                True if state["data"]["attributes"]["status"] in ("complete", "cancelled") else None
            )

        await self.poll_job(completed, f"import job {job_id}")
        errors = await self._call("GET", f"/api/profile-bulk-import-jobs/{job_id}/import-errors")
        failed: dict[int, str] = {}
        for error in errors.get("data", []):
            attributes = error.get("attributes", {})
            pointer = str(attributes.get("source", {}).get("pointer", ""))
            index = pointer.rsplit("/", 1)[-1]
            if index.isdigit():
                why = attributes.get("detail") or attributes.get("title")
                failed[int(index)] = f"{self.http.name}: {why}"
        return [RowResult(c.key, i not in failed, failed.get(i)) for i, c in enumerate(contacts)]

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        quoted = email.replace('"', "")
        body = await self._call(
            "GET",
            "/api/profiles",
            params={
                "filter": f'equals(email,"{quoted}")',
                "additional-fields[profile]": "subscriptions",
            },
        )
        for profile in body.get("data", []):
            marketing = (
                (profile.get("attributes", {}).get("subscriptions") or {})
                .get("email", {})
                .get("marketing", {})
            )
            state = CONSENT_IN.get(str(marketing.get("consent")), "not_subscribed")
            return RemoteConsent(state, parse_time(marketing.get("consent_timestamp")))
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        if consent.state == "not_subscribed":
            return  # Klaviyo has no "never subscribed" to set; nothing to change
        subscribe = consent.state == "subscribed"
        job = (
            "profile-subscription-bulk-create-job"
            if subscribe
            else ("profile-subscription-bulk-delete-job")
        )
        marketing: dict[str, Any] = {"consent": "SUBSCRIBED" if subscribe else "UNSUBSCRIBED"}
        if subscribe and consent.at:
            marketing["consented_at"] = isoformat(consent.at)
        data: dict[str, Any] = {
            "type": job,
            "attributes": {
                "profiles": {
                    "data": [
                        {
                            "type": "profile",
                            "attributes": {
                                "email": email,
                                "subscriptions": {"email": {"marketing": marketing}},
                            },
                        }
                    ]
                },
                "historical_import": bool(subscribe and consent.at),
            },
        }
        if destination:
            data["relationships"] = {"list": {"data": {"type": "list", "id": destination}}}
        elif subscribe:
            raise Rejected(f"{self.http.name}: subscribing needs a list")
        await self._call("POST", f"/api/{job}s", json_body={"data": data})

    async def track_event(self, event: TrackedEvent) -> None:
        await self._call(
            "POST",
            "/api/events",
            json_body={
                "data": {
                    "type": "event",
                    "attributes": {
                        "properties": dict(event.properties),
                        "time": isoformat(event.occurred_at),
                        "unique_id": event.event_id,
                        "metric": {"data": {"type": "metric", "attributes": {"name": event.name}}},
                        "profile": {
                            "data": {
                                "type": "profile",
                                "attributes": {
                                    {"phone": "phone_number"}.get(k, k): v
                                    for k, v in event.contact().items()
                                },
                            }
                        },
                    },
                }
            },
        )

    async def export_order(self, order: OrderPayload) -> None:
        await self.track_event(order_event(order))

    async def aclose(self) -> None:
        await self.http.aclose()
