"""Benchmark Email below /benchmark: lists, contacts, CSV imports, the account's plan.

Benchmark wraps every answer in {"Response": {..., "Status": "1"|"-1"}} and reports most
failures with HTTP 200, and its imports silently drop role addresses, duplicates and
addresses unsubscribed anywhere in the account: all of that is simulated, because a
client has to report those rows as rejected rather than as synced.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from ..clock import Clock, isoformat
from . import emails
from .callbacks import ProviderState
from .system import Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/benchmark"
DEFAULT_LIMIT = 2500
FIELDS = ("FirstName", "LastName", "Field1", "Field2", "Field3", "Field4", "Field5")
ERROR_CODES = {
    status.value: "".join(word.capitalize() for word in status.phrase.split())
    for status in HTTPStatus
}


def answer(data: Any = None, **extra: Any) -> Response:
    body: dict[str, Any] = {**extra, "Status": "1"}
    if data is not None:
        body["Data"] = data
    return JSONResponse({"Response": body})


def failed(code: str, message: str, status: int = 200) -> Response:
    return JSONResponse(
        {"Response": {"Status": "-1", "Errors": [{"Code": code, "Message": message}]}},
        status_code=status,
    )


def error(status: int, message: str) -> Response:
    return failed(ERROR_CODES.get(status, "Error"), message, status)


async def authenticate(call: Call) -> Response | None:
    if call.key_ok(call.request.headers.get("AuthToken")):
        return None
    return failed("InvalidToken", "Invalid AuthToken")


def throttled(retry_after: int) -> Response:
    return error(429, "Too many requests")


def rate_headers(quota: Quota | None) -> dict[str, str]:
    if quota is None:
        return {}
    return {
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": str(quota.reset),
    }


DIALECT = Dialect(error, authenticate, throttled, rate_headers)


class Refused(Exception):
    def __init__(self, code: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason  # reason: import wording


@dataclass
class ContactList:
    id: str
    name: str
    description: str
    created: str
    members: dict[str, str] = field(default_factory=dict)  # lowercased email -> contact id

    def summary(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "Name": self.name,
            "Description": self.description,
            "ContactCount": len(self.members),
            "CreatedDate": self.created,
        }


class BenchmarkState(ProviderState):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.lists: dict[str, ContactList] = {}
        self.contacts: dict[str, dict[str, Any]] = {}  # by contact id
        self.by_email: dict[str, set[str]] = {}  # lowercased email -> contact ids
        self.unsubscribed: set[str] = set()  # account-wide, lowercased
        self.imports: dict[str, dict[str, Any]] = {}
        self.ready_at: dict[str, float] = {}  # by ImportID (job_latency_ms)
        self.next_id = 0

    def reset(self) -> None:
        super().reset()
        self.lists.clear()
        self.contacts.clear()
        self.by_email.clear()
        self.unsubscribed.clear()
        self.imports.clear()
        self.ready_at.clear()
        self.next_id = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "lists": [item.summary() for item in self.lists.values()],
            "contacts": list(self.contacts.values()),
            "unsubscribed": sorted(self.unsubscribed),
            "callbacks": self.callbacks.as_dict(),
        }

    def new_id(self) -> str:
        self.next_id += 1
        return str(10_000_000 + self.next_id)

    def add_list(self, name: str, description: str) -> ContactList:
        item = ContactList(self.new_id(), name, description, isoformat(self.clock.now()))
        self.lists[item.id] = item
        return item

    def add_contact(self, item: ContactList, data: dict[str, Any], limit: int) -> str:
        """The contact's id (updated in place when the list already holds the address)."""
        email = data.get("Email")
        if not emails.is_valid(email):
            raise Refused("InvalidEmail", f"Invalid email address: {email}", "invalid")
        key = email.lower()
        cid = item.members.get(key)
        if cid is None:
            if key not in self.by_email and len(self.by_email) >= limit:
                raise Refused("ContactLimitExceeded", "Contact limit exceeded", "limit")
            cid = self.new_id()
            self.contacts[cid] = {
                "ID": cid,
                "Email": email,
                "ListID": item.id,
                "EmailPerm": "1",
                "Status": "Active",
                "CreatedDate": isoformat(self.clock.now()),
            }
            item.members[key] = cid
            self.by_email.setdefault(key, set()).add(cid)
        contact = self.contacts[cid]
        contact.update({name: data[name] for name in FIELDS if name in data})
        if "EmailPerm" in data:
            contact["EmailPerm"] = str(data["EmailPerm"])
        if key in self.unsubscribed:
            contact.update({"EmailPerm": "0", "Status": "Unsubscribed"})
        contact["ModifiedDate"] = isoformat(self.clock.now())
        return cid

    def update_contact(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        contact.update({name: data[name] for name in FIELDS if name in data})
        if "EmailPerm" in data:
            contact["EmailPerm"] = str(data["EmailPerm"])
        if data.get("Status") == "Unsubscribed":
            self.set_consent(contact["Email"], False, self.clock.now())
        elif data.get("Status") == "Active":
            self.set_consent(contact["Email"], True, self.clock.now())
        contact["ModifiedDate"] = isoformat(self.clock.now())

    def set_consent(self, email: str, subscribed: bool, at: datetime) -> None:
        """Benchmark's unsubscribes hold for the whole account, so they apply to every list."""
        key = email.lower()
        if subscribed:
            self.unsubscribed.discard(key)
        else:
            self.unsubscribed.add(key)
        for cid in self.by_email.get(key, ()):
            self.contacts[cid].update(
                {
                    "EmailPerm": "1" if subscribed else "0",
                    "Status": "Active" if subscribed else "Unsubscribed",
                    "ModifiedDate": isoformat(at),
                }
            )

    def import_csv(self, item: ContactList, text: str, limit: int) -> dict[str, Any]:
        rows = list(csv.DictReader(io.StringIO(text)))
        seen: set[str] = set()
        rejections: list[dict[str, str]] = []
        imported = 0
        for row in rows:
            email = (row.get("Email") or "").strip()
            reason = None
            if not emails.is_valid(email):
                reason = "invalid"
            elif emails.is_role(email):
                reason = "role address"
            elif email.lower() in seen:
                reason = "duplicate"
            elif email.lower() in self.unsubscribed:
                reason = "unsubscribed"
            if reason is None:
                seen.add(email.lower())
                try:
                    self.add_contact(item, {**row, "Email": email}, limit)
                    imported += 1
                except Refused as exc:
                    reason = exc.reason
            if reason is not None:
                rejections.append({"Email": email, "Reason": reason})
        result: dict[str, Any] = {
            "ImportID": uuid.uuid4().hex[:12],
            "Status": "Completed",
            "ListID": item.id,
            "Total": len(rows),
            "Imported": imported,
            "Rejected": len(rejections),
            "Rejections": rejections,
        }
        self.imports[result["ImportID"]] = result
        return result


def create(clock: Clock) -> System[BenchmarkState]:
    return System("benchmark", BenchmarkState(clock), DIALECT, clock)


def endpoints(system: System[BenchmarkState]) -> list[Endpoint]:
    state = system.state

    def limit() -> int:
        capacity = system.faults.capacity
        return DEFAULT_LIMIT if capacity is None else capacity

    def plan() -> dict[str, Any]:
        return {"PlanName": "Sandbox", "ContactCount": len(state.by_email), "ContactLimit": limit()}

    async def data_of(call: Call) -> dict[str, Any]:
        data = (await call.json_object()).get("Data")
        return data if isinstance(data, dict) else {}

    async def client(call: Call) -> Response:
        return answer(
            {
                "CompanyName": "Sandbox Store",
                "Email": "store@example.com",
                "FirstName": "Sandbox",
                "LastName": "Owner",
                **plan(),
            }
        )

    async def client_plan(call: Call) -> Response:
        return answer(plan())

    async def find_lists(call: Call) -> Response:
        wanted = call.request.query_params.get("SearchFilter", "").lower()
        found = [item.summary() for item in state.lists.values() if wanted in item.name.lower()]
        return answer(found, Count=len(found))

    async def add_list(call: Call) -> Response:
        data = await data_of(call)
        name = data.get("Name")
        if not isinstance(name, str) or not name.strip():
            return failed("InvalidName", "List name is required")
        if any(item.name.lower() == name.lower() for item in state.lists.values()):
            return failed("ListNameExists", f"A list named {name} already exists")
        return answer({"ID": state.add_list(name, str(data.get("Description", ""))).id})

    async def add_contact(call: Call) -> Response:
        item = state.lists.get(call.request.path_params["list_id"])
        if item is None:
            return failed("ListNotFound", "List not found")
        try:
            cid = state.add_contact(item, await data_of(call), limit())
        except Refused as exc:
            return failed(exc.code, exc.message)
        return answer({"ID": cid})

    async def update_contact(call: Call) -> Response:
        item = state.lists.get(call.request.path_params["list_id"])
        if item is None:
            return failed("ListNotFound", "List not found")
        contact = state.contacts.get(call.request.path_params["contact_id"])
        if contact is None or contact["ListID"] != item.id:
            return failed("ContactNotFound", "Contact not found")
        state.update_contact(contact, await data_of(call))
        return answer({"ID": contact["ID"]})

    async def search(call: Call) -> Response:
        wanted = call.request.query_params.get("Search", "").strip().lower()
        found = [state.contacts[cid] for cid in sorted(state.by_email.get(wanted, ()))]
        return answer(found, Count=len(found))

    async def import_csv(call: Call) -> Response:
        item = state.lists.get(call.request.path_params["list_id"])
        if item is None:
            return failed("ListNotFound", "List not found")
        text = (await data_of(call)).get("CSV")
        if not isinstance(text, str) or "Email" not in text.partition("\n")[0]:
            return failed("InvalidCSV", "CSV with an Email column is required")
        result = state.import_csv(item, text, limit())
        state.ready_at[result["ImportID"]] = call.job_ready_at()
        call.count_items(result["Total"])
        return answer({"ImportID": result["ImportID"]})

    async def import_status(call: Call) -> Response:
        import_id = call.request.query_params.get("ImportID", "")
        result = state.imports.get(import_id)
        if result is None:
            return failed("ImportNotFound", "Import not found")
        if not call.job_done(state.ready_at.get(import_id, 0.0)):
            return answer(
                {
                    "ImportID": import_id,
                    "Status": "Processing",
                    "ListID": result["ListID"],
                    "Total": result["Total"],
                }
            )
        return answer(result)

    return [
        Endpoint("GET", "/Client/", client),
        Endpoint("GET", "/Client/Plan", client_plan),
        Endpoint("GET", "/Contact/", find_lists),
        Endpoint("POST", "/Contact/", add_list),
        Endpoint("GET", "/Contact/ContactDetails", search),
        Endpoint("GET", "/Contact/ContactImportStatus", import_status),
        Endpoint("POST", "/Contact/{list_id}/ContactDetails", add_contact),
        Endpoint("POST", "/Contact/{list_id}/ContactDetails/CSV", import_csv),
        Endpoint("PATCH", "/Contact/{list_id}/ContactDetails/{contact_id}", update_contact),
    ]
