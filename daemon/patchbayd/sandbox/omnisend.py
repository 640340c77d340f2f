"""Omnisend below /omnisend: v3 contacts and batches, v5 events.

It keeps Omnisend's two consent quirks, because a client must survive them: a channel
status with an older statusDate than the stored one is ignored, and a new contact sent
without a status becomes "subscribed".
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from ..clock import Clock, isoformat, parse_time
from . import emails
from .callbacks import ProviderState
from .system import Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/omnisend"
MAX_BATCH_ITEMS = 1000
MAX_PAGE = 250
STATUSES = frozenset({"subscribed", "unsubscribed", "nonSubscribed"})
CHANNELS = {"email": "email", "phone": "sms"}  # identifier type -> its channel
OWN_FIELDS = frozenset({"contactID", "email", "phone", "identifiers", "createdAt", "updatedAt"})
CAPACITY_ERROR = "Contacts limit reached for your plan"


def error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def authenticate(call: Call) -> Response | None:
    key = call.request.headers.get("X-API-KEY")
    if key is None:
        return error(401, "Unauthorized: missing API key")
    if not call.key_ok(key):
        return error(403, "Forbidden: invalid API key")
    return None


def throttled(retry_after: int) -> Response:
    return JSONResponse({"error": "Too many requests", "retryAfter": retry_after}, status_code=429)


def rate_headers(quota: Quota | None) -> dict[str, str]:
    if quota is None:
        return {}
    return {
        "X-Rate-Limit-Limit": str(quota.limit),
        "X-Rate-Limit-Remaining": str(quota.remaining),
        "X-Rate-Limit-Reset": str(quota.reset),
    }


DIALECT = Dialect(error, authenticate, throttled, rate_headers)


class Invalid(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Batch:
    id: str
    endpoint: str
    created_at: str
    results: list[dict[str, Any]]
    ready_at: float = 0.0  # monotonic time it may report finished (job_latency_ms)

    def summary(self, done: bool = True) -> dict[str, Any]:
        if not done:
            return {
                "batchID": self.id,
                "method": "POST",
                "endpoint": self.endpoint,
                "status": "inProgress",
                "totalCount": len(self.results),
                "finishedCount": 0,
                "errorsCount": 0,
                "createdAt": self.created_at,
            }
        errors = sum(1 for item in self.results if item["responseCode"] >= 400)
        return {
            "batchID": self.id,
            "method": "POST",
            "endpoint": self.endpoint,
            "status": "finished",
            "totalCount": len(self.results),
            "finishedCount": len(self.results),
            "errorsCount": errors,
            "createdAt": self.created_at,
            "endedAt": self.created_at,
        }


def _object_id() -> str:
    return uuid.uuid4().hex[:24]


class OmnisendState(ProviderState):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.contacts: dict[str, dict[str, Any]] = {}  # by lowercased email
        self.events: list[dict[str, Any]] = []
        self.event_keys: set[tuple[str, str]] = set()
        self.batches: dict[str, Batch] = {}

    def reset(self) -> None:
        super().reset()
        self.contacts.clear()
        self.events.clear()
        self.event_keys.clear()
        self.batches.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "contacts": list(self.contacts.values()),
            "events": list(self.events),
            "callbacks": self.callbacks.as_dict(),
        }

    def set_consent(self, email: str, subscribed: bool, at: datetime) -> None:
        stamp = isoformat(self.clock.now())
        contact = self.contacts.get(email.lower()) or self._new_contact(email, stamp)
        status = "subscribed" if subscribed else "unsubscribed"
        _identifier(contact, "email", email)["channels"]["email"] = {
            "status": status,
            "statusDate": isoformat(at),
        }
        contact["updatedAt"] = stamp

    def upsert_contact(self, body: object, capacity: int | None) -> tuple[int, dict[str, Any]]:
        """(201 created | 200 updated | 4xx, answer), exactly as POST /v3/contacts."""
        if not isinstance(body, dict):
            return 400, {"error": "body must be a JSON object"}
        try:
            identifiers = _identifiers(body)
            _check_fields(body)
        except Invalid as exc:
            return exc.status, {"error": exc.message}
        email = next(ident["id"] for ident in identifiers if ident["type"] == "email")
        now = self.clock.now()
        stamp = isoformat(now)
        contact = self.contacts.get(email.lower())
        created = contact is None
        if contact is None:
            if capacity is not None and len(self.contacts) >= capacity:
                return 403, {"error": CAPACITY_ERROR}
            contact = self._new_contact(email, stamp)
        for ident in identifiers:
            _merge_identifier(contact, ident, created, now)
        for name, value in body.items():
            if name == "tags":
                contact["tags"] += [tag for tag in value if tag not in contact["tags"]]
            elif name == "customProperties":
                contact["customProperties"].update(value)
            elif name not in OWN_FIELDS:
                contact[name] = value
        contact["updatedAt"] = stamp
        return (201 if created else 200), {
            "email": contact["email"],
            "contactID": contact["contactID"],
        }

    def add_event(self, body: object) -> tuple[int, dict[str, Any]]:
        """(202 | 400, answer), exactly as POST /v5/events; an eventID+eventTime is kept once."""
        if not isinstance(body, dict):
            return 400, {"error": "body must be a JSON object"}
        if not isinstance(body.get("eventName"), str) or not body["eventName"]:
            return 400, {"error": "eventName: required"}
        contact = body.get("contact")
        if not isinstance(contact, dict) or not (
            contact.get("email") or contact.get("phone") or contact.get("id")
        ):
            return 400, {"error": "contact: email, phone or id required"}
        if "email" in contact and not emails.is_valid(contact["email"]):
            return 400, {"error": "contact.email: invalid email"}
        event = dict(body)
        event.setdefault("eventTime", isoformat(self.clock.now()))
        if isinstance(event.get("eventID"), str):
            key = (event["eventID"], str(event["eventTime"]))
            if key in self.event_keys:
                return 202, {}
            self.event_keys.add(key)
        self.events.append(event)
        return 202, {}

    def run_batch(self, endpoint: str, items: list[Any], capacity: int | None) -> Batch:
        results = []
        for item in items:
            if endpoint == "contacts":
                code, answer = self.upsert_contact(item, capacity)
            else:
                code, answer = self.add_event(item)
            results.append({"request": item, "responseCode": code, "response": answer})
        batch = Batch(_object_id(), endpoint, isoformat(self.clock.now()), results)
        self.batches[batch.id] = batch
        return batch

    def _new_contact(self, email: str, now: str) -> dict[str, Any]:
        contact: dict[str, Any] = {
            "contactID": _object_id(),
            "email": email,
            "phone": None,
            "firstName": None,
            "lastName": None,
            "tags": [],
            "customProperties": {},
            "identifiers": [],
            "createdAt": now,
            "updatedAt": now,
        }
        self.contacts[email.lower()] = contact
        return contact


def _identifiers(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The validated identifiers; at least one is an email (the sandbox keys contacts by it)."""
    identifiers = body.get("identifiers")
    if not isinstance(identifiers, list) or not identifiers:
        raise Invalid(400, "identifiers: required")
    for index, ident in enumerate(identifiers):
        where = f"identifiers[{index}]"
        if not isinstance(ident, dict) or ident.get("type") not in CHANNELS:
            raise Invalid(400, f"{where}.type: must be email or phone")
        if ident["type"] == "email" and not emails.is_valid(ident.get("id")):
            raise Invalid(400, f"{where}.id: invalid email")
        if ident["type"] == "phone" and not (
            isinstance(ident.get("id"), str) and ident["id"].startswith("+")
        ):
            raise Invalid(400, f"{where}.id: invalid phone number")
        channels = ident.get("channels", {})
        if not isinstance(channels, dict):
            raise Invalid(400, f"{where}.channels: must be an object")
        for name, channel in channels.items():
            _check_channel(f"{where}.channels.{name}", channel)
    if not any(ident["type"] == "email" for ident in identifiers):
        raise Invalid(400, "identifiers: an email identifier is required")
    return identifiers


def _check_channel(where: str, channel: object) -> None:
    if not isinstance(channel, dict):
        raise Invalid(400, f"{where}: must be an object")
    if "status" in channel and channel["status"] not in STATUSES:
        raise Invalid(400, f"{where}.status: must be one of {', '.join(sorted(STATUSES))}")
    if "statusDate" in channel and parse_time(channel["statusDate"]) is None:
        raise Invalid(400, f"{where}.statusDate: invalid date")


def _check_fields(body: dict[str, Any]) -> None:
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise Invalid(400, "tags: must be an array of strings")
    if not isinstance(body.get("customProperties", {}), dict):
        raise Invalid(400, "customProperties: must be an object")


def _identifier(contact: dict[str, Any], kind: str, value: str) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = contact["identifiers"]
    for ident in identifiers:
        if ident["type"] == kind:
            ident["id"] = value
            return ident
    ident = {"type": kind, "id": value, "channels": {}}
    identifiers.append(ident)
    return ident


def _merge_identifier(
    contact: dict[str, Any], given: dict[str, Any], created: bool, now: datetime
) -> None:
    stored = _identifier(contact, given["type"], given["id"])
    if given["type"] == "phone":
        contact["phone"] = given["id"]
    channel = CHANNELS[given["type"]]
    incoming = dict(given.get("channels", {}).get(channel, {}))
    if "status" not in incoming:
        if not created or channel in stored["channels"]:
            return
        incoming = {"status": "subscribed"}  # Omnisend's default for a new contact
    moment = parse_time(incoming.get("statusDate")) or now
    previous = stored["channels"].get(channel)
    if previous is not None:
        previous_moment = parse_time(previous["statusDate"])
        if previous_moment is not None and moment < previous_moment:
            return
    stored["channels"][channel] = {"status": incoming["status"], "statusDate": isoformat(moment)}


def create(clock: Clock) -> System[OmnisendState]:
    return System("omnisend", OmnisendState(clock), DIALECT, clock)


def endpoints(system: System[OmnisendState]) -> list[Endpoint]:
    state = system.state

    async def list_contacts(call: Call) -> Response:
        params = call.request.query_params
        limit = _limit(params.get("limit", "100"))
        if limit is None:
            return error(400, f"limit: must be an integer between 1 and {MAX_PAGE}")
        email = params.get("email")
        if email is not None:
            found = state.contacts.get(email.lower())
            return JSONResponse(
                {
                    "contacts": [found] if found else [],
                    "paging": {"previous": None, "next": None, "limit": limit},
                }
            )
        raw_offset = params.get("offset", "0")
        if not raw_offset.isdigit():
            return error(400, "offset: must be a non-negative integer")
        offset = int(raw_offset)
        page = list(itertools.islice(state.contacts.values(), offset, offset + limit))
        more = offset + limit < len(state.contacts)
        following = (
            str(call.request.url.include_query_params(offset=offset + limit, limit=limit))
            if more
            else None
        )
        return JSONResponse(
            {
                "contacts": page,
                "paging": {"previous": None, "next": following, "limit": limit, "offset": offset},
            }
        )

    async def upsert_contact(call: Call) -> Response:
        status, answer = state.upsert_contact(await call.json(), call.faults.capacity)
        return JSONResponse(answer, status_code=status)

    async def create_batch(call: Call) -> Response:
        body = await call.json_object()
        if body.get("method") != "POST":
            return error(400, "method: must be POST")
        if body.get("endpoint") not in ("contacts", "events"):
            return error(400, "endpoint: must be contacts or events")
        items = body.get("items")
        if not isinstance(items, list) or not items:
            return error(400, "items: required")
        if len(items) > MAX_BATCH_ITEMS:
            return error(400, f"items: at most {MAX_BATCH_ITEMS} items per batch")
        call.count_items(len(items))
        batch = state.run_batch(body["endpoint"], items, call.faults.capacity)
        batch = state.batches[batch.id] = replace(batch, ready_at=call.job_ready_at())
        return JSONResponse(
            {
                "batchID": batch.id,
                "status": "pending",
                "totalCount": len(items),
                "endpoint": batch.endpoint,
            }
        )

    async def get_batch(call: Call) -> Response:
        batch = state.batches.get(call.request.path_params["batch_id"])
        if batch is None:
            return error(404, "Batch not found")
        return JSONResponse(batch.summary(call.job_done(batch.ready_at)))

    async def batch_items(call: Call) -> Response:
        batch = state.batches.get(call.request.path_params["batch_id"])
        if batch is None:
            return error(404, "Batch not found")
        done = call.job_done(batch.ready_at)
        return JSONResponse({"items": batch.results if done else [], "paging": {}})

    async def add_event(call: Call) -> Response:
        status, answer = state.add_event(await call.json())
        return JSONResponse(answer, status_code=status)

    return [
        Endpoint("GET", "/v3/contacts", list_contacts),
        Endpoint("POST", "/v3/contacts", upsert_contact),
        Endpoint("POST", "/v3/batches", create_batch),
        Endpoint("GET", "/v3/batches/{batch_id}", get_batch),
        Endpoint("GET", "/v3/batches/{batch_id}/items", batch_items),
        Endpoint("POST", "/v5/events", add_event),
    ]


def _limit(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE else None
