"""Mailchimp Marketing API 3.0: Basic auth with the key, batch member upserts per list.

The data centre is the key's suffix (`...-us21`). A bulk upsert only ever sets
`status_if_new` for new members, plus `status: unsubscribed` to pass an opt-out on:
it never turns an existing member back to "subscribed" (that is `set_consent`'s job,
decided by the consent engine).
"""

from __future__ import annotations

import hashlib
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
)
from .errors import Rejected

BATCH_MAX = 500
STATUS_IN: dict[str, ConsentState] = {
    "subscribed": "subscribed",
    "unsubscribed": "unsubscribed",
    "cleaned": "unsubscribed",
    "pending": "not_subscribed",
    "transactional": "not_subscribed",
}


def data_centre(api_key: str) -> str | None:
    _, dash, dc = api_key.rpartition("-")
    return dc if dash and dc.isalnum() else None


def member_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def _message(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    return str(body.get("detail") or body.get("title")) if body.get("title") else None


def member_body(contact: Contact) -> dict[str, Any]:
    state = contact.email_consent.state if contact.email_consent else "not_subscribed"
    body: dict[str, Any] = {
        "email_address": contact.email,
        "status_if_new": {"subscribed": "subscribed", "unsubscribed": "unsubscribed"}.get(
            state, "transactional"
        ),
    }
    if state == "unsubscribed":
        body["status"] = "unsubscribed"
    merge = {
        k: v
        for k, v in (
            ("FNAME", contact.first_name),
            ("LNAME", contact.last_name),
            ("PHONE", contact.phone),
        )
        if v is not None
    }
    merge.update({str(k).upper()[:10]: v for k, v in contact.properties.items()})
    if merge:
        body["merge_fields"] = merge
    if contact.tags:
        body["tags"] = list(contact.tags)
    return body


class Mailchimp(Provider):
    name = "mailchimp"
    batch_size = BATCH_MAX
    has_lists = True
    orders_idempotent = False
    batch_sets_consent = False

    error_message = staticmethod(_message)

    async def verify(self) -> Account:
        body = await self._call("GET", "/")
        return Account(name=str(body.get("account_name") or "Mailchimp account"))

    async def destinations(self) -> list[Destination]:
        body = await self._call("GET", "/lists", params={"count": 1000})
        return [Destination(str(d["id"]), str(d["name"])) for d in body.get("lists", [])]

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        if not destination:
            raise Rejected(f"{self.http.name}: members belong to an audience; give --list")
        body = await self._call(
            "POST",
            f"/lists/{destination}",
            json_body={"members": [member_body(c) for c in contacts], "update_existing": True},
        )
        errors = {
            str(e.get("email_address", "")).lower(): str(e.get("error"))
            for e in body.get("errors", [])
        }
        ids = {
            str(m.get("email_address", "")).lower(): str(m.get("id"))
            for m in [*body.get("new_members", []), *body.get("updated_members", [])]
        }
        return [
            RowResult(c.key, False, f"{self.http.name}: {errors[c.key]}")
            if c.key in errors
            else RowResult(c.key, True, remote_id=ids.get(c.key))
            for c in contacts
        ]

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        lists = [destination] if destination else [d.id for d in await self.destinations()]
        for list_id in lists:
            response = await self.http.request(
                "GET", f"/lists/{list_id}/members/{member_hash(email)}"
            )
            if response.status_code == 404:
                continue
            self.http.raise_for_status(response, _message)
            member = self.http.json(response)
            return RemoteConsent(
                STATUS_IN.get(str(member.get("status")), "not_subscribed"),
                parse_time(member.get("last_changed")),
            )
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        if consent.state == "not_subscribed":
            return
        if not destination:
            raise Rejected(f"{self.http.name}: consent is per audience; the sync has no list")
        # The batch upsert with an explicit status is Mailchimp's "add or update" for one.
        body = await self._call(
            "POST",
            f"/lists/{destination}",
            json_body={
                "members": [
                    {
                        "email_address": email,
                        "status_if_new": consent.state,
                        "status": consent.state,
                    }
                ],
                "update_existing": True,
            },
        )
        if body.get("errors"):
            raise Rejected(f"{self.http.name}: {body['errors'][0].get('error')}")

    async def track_event(self, event: TrackedEvent) -> None:
        """A member event (it starts a Mailchimp customer journey); needs the audience the
        member is in, and the member there already."""
        if not event.destination or not event.email:
            raise Rejected(f"{self.http.name}: member events need an audience (list) and an email")
        await self._call(
            "POST",
            f"/lists/{event.destination}/members/{member_hash(event.email)}/events",
            json_body={
                "name": event.name[:30],
                "properties": {k: str(v) for k, v in event.properties.items()},
                "occurred_at": isoformat(event.occurred_at),
            },
        )

    async def export_order(self, order: OrderPayload) -> None:
        raise Rejected(
            f"{self.http.name}: orders need Mailchimp's e-commerce API, which "
            "patchbay does not speak yet"
        )
