"""SALESmanago below /salesmanago: every call a POST with the credentials in the body.

Like the real service it answers almost every failure with HTTP 200 and
{"success": false}, so a client that trusts the status code is caught out here first.
A new contact upserted without forceOptOut is opted in, which is the case a resync must
never hit for someone who unsubscribed.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from starlette.responses import JSONResponse, Response

from ..clock import Clock
from . import emails
from .callbacks import ProviderState
from .faults import FaultError, Knob
from .system import KEY_PREFIX, Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/salesmanago"
DEFAULT_SECRET = "sandbox-secret"  # noqa: S105 - public sandbox value
MAX_BATCH = 1000
CONTACT_FIELDS = ("name", "phone", "externalId", "company", "address", "birthday")


def epoch_ms(moment: datetime) -> int:
    """SALESmanago's times: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def error(status: int, message: str) -> Response:
    return JSONResponse({"success": False, "message": [message]}, status_code=status)


def failed(message: str) -> Response:
    """How SALESmanago refuses a request: HTTP 200, success false."""
    return error(200, message)


def succeeded(**fields: Any) -> Response:
    return JSONResponse({"success": True, "message": [], **fields})


def throttled(retry_after: int) -> Response:
    return error(429, "Too many requests")


def rate_headers(quota: Quota | None) -> dict[str, str]:
    return {}  # SALESmanago documents no rate-limit headers


@dataclass(frozen=True)
class Upserted:
    """One contact's upsert: its id, or why it was refused."""

    email: str
    contact_id: str | None = None
    refusal: str | None = None


class SalesmanagoState(ProviderState):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.contacts: dict[str, dict[str, Any]] = {}  # by lowercased email
        self.events: list[dict[str, Any]] = []
        self.secrets: dict[str, str] = {}  # clientId -> API secret, beside DEFAULT_SECRET

    def reset(self) -> None:
        super().reset()
        self.contacts.clear()
        self.events.clear()
        self.secrets.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "contacts": list(self.contacts.values()),
            "events": list(self.events),
            "callbacks": self.callbacks.as_dict(),
        }

    def now_ms(self) -> int:
        return epoch_ms(self.clock.now())

    def signed(self, body: dict[str, Any]) -> bool:
        client, key, sha = body.get("clientId"), body.get("apiKey"), body.get("sha")
        if not (isinstance(client, str) and isinstance(key, str) and isinstance(sha, str)):
            return False
        candidates = {DEFAULT_SECRET, self.secrets.get(client, DEFAULT_SECRET)}
        return any(
            hmac.compare_digest(
                hashlib.sha1((key + client + secret).encode()).hexdigest(), sha.lower()
            )
            for secret in candidates
        )

    def upsert(self, row: object, capacity: int | None) -> Upserted:
        if not isinstance(row, dict) or not isinstance(row.get("contact"), dict):
            return Upserted("", refusal="contact is required")
        given = row["contact"]
        email = given.get("email")
        if not emails.is_valid(email):
            return Upserted(str(email or ""), refusal="Invalid email")
        problem = _check_flags(row)
        if problem is not None:
            return Upserted(email, refusal=problem)
        contact = self.contacts.get(email.lower())
        if contact is None:
            if capacity is not None and len(self.contacts) >= capacity:
                return Upserted(email, refusal="Contacts limit exceeded")
            contact = self._new_contact(email)
        if row.get("forceOptIn"):
            contact["optedOut"] = False
        if row.get("forceOptOut"):
            contact["optedOut"] = True
        if row.get("forcePhoneOptIn"):
            contact["optedOutPhone"] = False
        if row.get("forcePhoneOptOut"):
            contact["optedOutPhone"] = True
        contact.update({name: given[name] for name in CONTACT_FIELDS if name in given})
        contact["tags"] = [tag for tag in contact["tags"] if tag not in row.get("removeTags", [])]
        contact["tags"] += [tag for tag in row.get("tags", []) if tag not in contact["tags"]]
        contact["properties"].update(row.get("properties") or {})
        contact["modifiedOn"] = self.now_ms()
        return Upserted(email, contact_id=contact["contactId"])

    def set_consent(self, email: str, subscribed: bool, at: datetime) -> None:
        contact = self.contacts.get(email.lower()) or self._new_contact(email)
        contact["optedOut"] = not subscribed
        contact["modifiedOn"] = epoch_ms(at)

    def _new_contact(self, email: str) -> dict[str, Any]:
        now = self.now_ms()
        contact: dict[str, Any] = {
            "contactId": str(uuid.uuid4()),
            "email": email,
            "name": None,
            "phone": None,
            "externalId": None,
            "optedOut": False,
            "optedOutPhone": False,
            "tags": [],
            "properties": {},
            "createdOn": now,
            "modifiedOn": now,
        }
        self.contacts[email.lower()] = contact
        return contact


def _check_flags(row: dict[str, Any]) -> str | None:
    if row.get("forceOptIn") and row.get("forceOptOut"):
        return "forceOptIn and forceOptOut cannot both be set"
    for name in ("tags", "removeTags"):
        tags = row.get(name, [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            return f"{name} must be a list of strings"
        if any(" " in tag or "," in tag or not tag for tag in tags):
            return "Invalid tag"
    if not isinstance(row.get("properties") or {}, dict):
        return "properties must be an object"
    return None


def create(clock: Clock) -> System[SalesmanagoState]:
    state = SalesmanagoState(clock)

    def parse_secrets(value: object) -> object:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.startswith(KEY_PREFIX)
            for k, v in value.items()
        ):
            raise FaultError(f"secrets must map clientId to a secret starting {KEY_PREFIX!r}")
        return dict(value)

    def set_secrets(value: object) -> None:
        state.secrets = cast(dict[str, str], value)  # what parse_secrets returned

    async def authenticate(call: Call) -> Response | None:
        body = await call.json()
        if not isinstance(body, dict) or not state.signed(body):
            return failed("Not authenticated")
        if (
            body.get("clientId") in call.faults.revoked_keys
            or body.get("apiKey") in call.faults.revoked_keys
        ):
            return failed("Not authenticated")
        return None

    knobs = {"secrets": Knob(lambda: dict(state.secrets), parse_secrets, set_secrets)}
    dialect = Dialect(error, authenticate, throttled, rate_headers)
    return System("salesmanago", state, dialect, clock, knobs)


def endpoints(system: System[SalesmanagoState]) -> list[Endpoint]:
    state = system.state

    async def request_of(call: Call) -> dict[str, Any] | Response:
        """The body, or the refusal when the account user (owner) is missing."""
        body = await call.json_object()
        owner = body.get("owner")
        if not (isinstance(owner, str) and "@" in owner):
            return failed("Owner not found")
        return body

    def single_email(body: dict[str, Any]) -> dict[str, Any] | Response:
        email = body.get("email")
        if not isinstance(email, str):
            return failed("email is required")
        contact = state.contacts.get(email.lower())
        return contact if contact is not None else failed("Contact not found")

    async def has_contact(call: Call) -> Response:
        body = await request_of(call)
        if isinstance(body, Response):
            return body
        email = body.get("email")
        return succeeded(result=isinstance(email, str) and email.lower() in state.contacts)

    async def upsert(call: Call) -> Response:
        body = await request_of(call)
        if isinstance(body, Response):
            return body
        outcome = state.upsert(body, call.faults.capacity)
        if outcome.contact_id is None:
            return failed(outcome.refusal or "Contact not saved")
        return succeeded(contactId=outcome.contact_id)

    async def batch_upsert(call: Call) -> Response:
        body = await request_of(call)
        if isinstance(body, Response):
            return body
        rows = body.get("upsertDetails")
        if not isinstance(rows, list) or not rows:
            return failed("upsertDetails is required")
        if len(rows) > MAX_BATCH:
            return failed(f"Too many contacts in one request (max {MAX_BATCH})")
        call.count_items(len(rows))
        ids: dict[str, str] = {}
        refused: list[dict[str, str]] = []
        for row in rows:
            outcome = state.upsert(row, call.faults.capacity)
            if outcome.contact_id is not None:
                ids[outcome.email] = outcome.contact_id
            else:
                refused.append(
                    {"email": outcome.email, "message": outcome.refusal or "Contact not saved"}
                )
        return succeeded(contactIds=ids, failed=refused)

    async def basic(call: Call) -> Response:
        body = await request_of(call)
        if isinstance(body, Response):
            return body
        wanted = body.get("email")
        if not isinstance(wanted, list):
            return failed("email must be a list")
        found = [
            state.contacts[e.lower()]
            for e in wanted
            if isinstance(e, str) and e.lower() in state.contacts
        ]
        return succeeded(
            contacts=[
                {
                    name: contact[name]
                    for name in (
                        "email",
                        "contactId",
                        "optedOut",
                        "optedOutPhone",
                        "createdOn",
                        "modifiedOn",
                    )
                }
                for contact in found
            ]
        )

    def opt(opted_out: bool) -> Callable[[Call], Awaitable[Response]]:
        async def change(call: Call) -> Response:
            body = await request_of(call)
            if isinstance(body, Response):
                return body
            contact = single_email(body)
            if isinstance(contact, Response):
                return contact
            contact["optedOut"] = opted_out
            contact["modifiedOn"] = state.now_ms()
            return succeeded()

        return change

    async def add_event(call: Call) -> Response:
        body = await request_of(call)
        if isinstance(body, Response):
            return body
        contact = single_email(body)
        if isinstance(contact, Response):
            return contact
        event = body.get("contactEvent")
        if not isinstance(event, dict) or not isinstance(event.get("contactExtEventType"), str):
            return failed("contactEvent.contactExtEventType is required")
        if not isinstance(event.get("date"), int):
            return failed("contactEvent.date must be milliseconds since the epoch")
        event_id = str(uuid.uuid4())
        state.events.append(
            {
                "eventId": event_id,
                "email": contact["email"],
                "contactId": contact["contactId"],
                **event,
            }
        )
        return succeeded(eventId=event_id)

    return [
        Endpoint("POST", "/api/contact/hasContact", has_contact),
        Endpoint("POST", "/api/contact/upsert", upsert),
        Endpoint("POST", "/api/contact/batchupsertv2", batch_upsert),
        Endpoint("POST", "/api/contact/basic", basic),
        Endpoint("POST", "/api/contact/optin", opt(False)),
        Endpoint("POST", "/api/contact/optout", opt(True)),
        Endpoint("POST", "/api/v2/contact/addContactExtEvent", add_event),
    ]
