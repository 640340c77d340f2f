"""Mailchimp Marketing API 3.0 below /mailchimp: lists, batch member upserts, members, events.

Mailchimp limits concurrent connections (10 per user) rather than requests per minute, so
an eleventh request in flight is answered 429 even without a rate_limit_per_min knob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from ..clock import Clock, isoformat
from . import emails
from .callbacks import ProviderState
from .system import Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/mailchimp"
DEFAULT_LIST = "list1"
MAX_BATCH = 500
MAX_IN_FLIGHT = 10
STATUSES = frozenset({"subscribed", "unsubscribed", "cleaned", "pending", "transactional"})
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    403: "Forbidden",
    404: "Resource Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(status: int, detail: str, title: str | None = None) -> Response:
    return JSONResponse(
        {
            "type": ERRORS_DOC,
            "title": title or TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "instance": str(uuid.uuid4()),
        },
        status_code=status,
        media_type="application/problem+json",
    )


def error(status: int, message: str) -> Response:
    return problem(status, message)


async def authenticate(call: Call) -> Response | None:
    scheme, _, encoded = call.request.headers.get("Authorization", "").partition(" ")
    key = None
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(encoded, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            key = None
    if call.key_ok(key):
        return None
    return problem(
        401, "Your API key may be invalid, or you've attempted to access the wrong datacenter."
    )


def throttled(retry_after: int) -> Response:
    return problem(429, f"You have exceeded the limit of {MAX_IN_FLIGHT} simultaneous connections.")


def rate_headers(quota: Quota | None) -> dict[str, str]:
    return {}  # Mailchimp sends none


DIALECT = Dialect(error, authenticate, throttled, rate_headers, max_in_flight=MAX_IN_FLIGHT)


def subscriber_hash(email_or_hash: str) -> str:
    """Mailchimp's member id: md5 of the lowercased address (an address is accepted too)."""
    if "@" in email_or_hash:
        return hashlib.md5(email_or_hash.lower().encode()).hexdigest()
    return email_or_hash.lower()


class MailchimpState(ProviderState):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.lists: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.lists = {
            DEFAULT_LIST: {"name": "Newsletter", "members": {}, "date_created": self.now()}
        }
        self.events.clear()

    def now(self) -> str:
        return isoformat(self.clock.now())

    def snapshot(self) -> dict[str, Any]:
        return {
            "lists": {
                lid: {"name": data["name"], "members": list(data["members"].values())}
                for lid, data in self.lists.items()
            },
            "events": list(self.events),
            "callbacks": self.callbacks.as_dict(),
        }

    def member_count(self) -> int:
        return sum(len(data["members"]) for data in self.lists.values())

    def list_info(self, lid: str) -> dict[str, Any]:
        data = self.lists[lid]
        return {
            "id": lid,
            "name": data["name"],
            "date_created": data["date_created"],
            "stats": {
                "member_count": sum(
                    1 for m in data["members"].values() if m["status"] == "subscribed"
                ),
                "total_contacts": len(data["members"]),
            },
        }

    def add_member(self, lid: str, email: str, status: str) -> dict[str, Any]:
        member = {
            "id": subscriber_hash(email),
            "email_address": email,
            "unique_email_id": uuid.uuid4().hex[:10],
            "status": status,
            "merge_fields": {},
            "tags": [],
            "list_id": lid,
            "last_changed": self.now(),
            "timestamp_opt": self.now(),
        }
        self.lists[lid]["members"][member["id"]] = member
        return member

    def set_status(self, member: dict[str, Any], status: str, at: str | None = None) -> None:
        if member["status"] != status:
            member["status"] = status
            member["last_changed"] = at or self.now()

    def batch(
        self, lid: str, rows: list[Any], update_existing: bool, capacity: int | None
    ) -> dict[str, Any]:
        created: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        members = self.lists[lid]["members"]
        for row in rows:
            reason = _check_member(row) if isinstance(row, dict) else "member must be an object"
            if reason is not None:
                email = row.get("email_address") if isinstance(row, dict) else None
                refused.append(
                    {"email_address": email, "error": reason, "error_code": "ERROR_GENERIC"}
                )
                continue
            email = row["email_address"]
            member = members.get(subscriber_hash(email))
            if member is not None and not update_existing:
                refused.append(
                    {
                        "email_address": email,
                        "error_code": "ERROR_CONTACT_EXISTS",
                        "error": f"{email} is already a list member.",
                    }
                )
                continue
            if member is None:
                status = row.get("status") or row.get("status_if_new")
                if status is None:
                    refused.append(
                        {
                            "email_address": email,
                            "error": "status required",
                            "error_code": "ERROR_GENERIC",
                        }
                    )
                    continue
                if capacity is not None and self.member_count() >= capacity:
                    refused.append(
                        {
                            "email_address": email,
                            "error": "Contact limit reached",
                            "error_code": "LIMIT_EXCEEDED",
                        }
                    )
                    continue
                member = self.add_member(lid, email, status)
                created.append(member)
            else:
                if "status" in row:
                    self.set_status(member, row["status"])
                updated.append(member)
            _merge(member, row)
        return {
            "new_members": created,
            "updated_members": updated,
            "errors": refused,
            "total_created": len(created),
            "total_updated": len(updated),
            "error_count": len(refused),
        }

    def set_consent(self, email: str, subscribed: bool, at: datetime) -> None:
        status = "subscribed" if subscribed else "unsubscribed"
        key = subscriber_hash(email)
        held = [data["members"][key] for data in self.lists.values() if key in data["members"]]
        if not held and DEFAULT_LIST in self.lists:
            held = [self.add_member(DEFAULT_LIST, email, status)]
        for member in held:
            self.set_status(member, status, isoformat(at))


def _check_member(row: dict[str, Any]) -> str | None:
    email = row.get("email_address")
    if not emails.is_valid(email):
        return f"{email} looks fake or invalid, please enter a real email address."
    for name in ("status", "status_if_new"):
        if name in row and row[name] not in STATUSES:
            return f"{name} must be one of {', '.join(sorted(STATUSES))}"
    if not isinstance(row.get("merge_fields", {}), dict):
        return "merge_fields must be an object"
    tags = row.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        return "tags must be a list of strings"
    return None


def _merge(member: dict[str, Any], row: dict[str, Any]) -> None:
    member["merge_fields"].update(row.get("merge_fields", {}))
    names = {tag["name"] for tag in member["tags"]}
    for tag in row.get("tags", []):
        if tag not in names:
            member["tags"].append({"id": len(member["tags"]) + 1, "name": tag})
            names.add(tag)


def create(clock: Clock) -> System[MailchimpState]:
    return System("mailchimp", MailchimpState(clock), DIALECT, clock)


def endpoints(system: System[MailchimpState]) -> list[Endpoint]:
    state = system.state

    def member_of(call: Call) -> dict[str, Any] | Response:
        params = call.request.path_params
        data = state.lists.get(params["list_id"])
        member: dict[str, Any] | None = (
            data["members"].get(subscriber_hash(params["hash"])) if data else None
        )
        if member is None:
            return problem(404, "The requested resource could not be found.")
        return member

    async def root(call: Call) -> Response:
        subscribed = sum(
            1
            for data in state.lists.values()
            for m in data["members"].values()
            if m["status"] == "subscribed"
        )
        return JSONResponse(
            {
                "account_id": "sandbox0account",
                "login_id": "sandbox",
                "account_name": "Sandbox Store",
                "email": "store@example.com",
                "total_subscribers": subscribed,
            }
        )

    async def lists(call: Call) -> Response:
        params = call.request.query_params
        count, offset = params.get("count", "10"), params.get("offset", "0")
        if not (count.isdigit() and 1 <= int(count) <= 1000 and offset.isdigit()):
            return problem(400, "count must be 1..1000 and offset a non-negative integer")
        ids = list(state.lists)[int(offset) : int(offset) + int(count)]
        return JSONResponse(
            {"lists": [state.list_info(lid) for lid in ids], "total_items": len(state.lists)}
        )

    async def get_list(call: Call) -> Response:
        lid = call.request.path_params["list_id"]
        if lid not in state.lists:
            return problem(404, "The requested resource could not be found.")
        return JSONResponse(state.list_info(lid))

    async def batch(call: Call) -> Response:
        lid = call.request.path_params["list_id"]
        if lid not in state.lists:
            return problem(404, "The requested resource could not be found.")
        body = await call.json_object()
        rows = body.get("members")
        if not isinstance(rows, list):
            return problem(400, "members: required")
        if len(rows) > MAX_BATCH:
            return problem(400, f"members: at most {MAX_BATCH} members per request")
        call.count_items(len(rows))
        return JSONResponse(
            state.batch(lid, rows, body.get("update_existing") is True, call.faults.capacity)
        )

    async def get_member(call: Call) -> Response:
        member = member_of(call)
        return member if isinstance(member, Response) else JSONResponse(member)

    async def patch_member(call: Call) -> Response:
        member = member_of(call)
        if isinstance(member, Response):
            return member
        body = await call.json_object()
        reason = _check_member({**body, "email_address": member["email_address"]})
        if reason is not None:
            return problem(400, reason)
        if "status" in body:
            state.set_status(member, body["status"])
        _merge(member, body)
        return JSONResponse(member)

    async def add_event(call: Call) -> Response:
        member = member_of(call)
        if isinstance(member, Response):
            return member
        body = await call.json_object()
        if not isinstance(body.get("name"), str) or not body["name"]:
            return problem(400, "name: required")
        state.events.append(
            {
                "list_id": member["list_id"],
                "email_address": member["email_address"],
                "name": body["name"],
                "properties": body.get("properties", {}),
                "occurred_at": body.get("occurred_at") or state.now(),
            }
        )
        return Response(status_code=204)

    member_path = "/3.0/lists/{list_id}/members/{hash}"
    return [
        Endpoint("GET", "/3.0/", root),
        Endpoint("GET", "/3.0/lists", lists),
        Endpoint("GET", "/3.0/lists/{list_id}", get_list),
        Endpoint("POST", "/3.0/lists/{list_id}", batch),
        Endpoint("GET", member_path, get_member),
        Endpoint("PATCH", member_path, patch_member),
        Endpoint("POST", f"{member_path}/events", add_event),
    ]
