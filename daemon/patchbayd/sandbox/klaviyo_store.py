"""A Klaviyo account's data: profiles (indexed by every identifier Klaviyo matches on), list
memberships, email consent, events and bulk import jobs.

Consent lives apart from profile data, as in Klaviyo: profile imports never change it,
only the subscription jobs (and changes made at Klaviyo itself) do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import Clock, isoformat
from . import emails
from .callbacks import ProviderState

DEFAULT_LIST = "LIST1"
IDENTIFIERS = ("email", "phone_number", "external_id")
ATTRIBUTES = frozenset(
    {
        "email",
        "phone_number",
        "external_id",
        "first_name",
        "last_name",
        "organization",
        "title",
        "image",
        "location",
        "properties",
        "locale",
    }
)


class Invalid(Exception):
    def __init__(self, detail: str, pointer: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.detail, self.pointer, self.code = detail, pointer, code


@dataclass
class ImportJob:
    id: str
    total: int
    created: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    ready_at: float = 0.0  # monotonic time it may report complete (job_latency_ms)

    def resource(self, status: str) -> dict[str, Any]:
        done = status == "complete"
        failed = len(self.errors) if done else 0
        return {
            "type": "profile-bulk-import-job",
            "id": self.id,
            "attributes": {
                "status": status,
                "total_count": self.total,
                "completed_count": self.total - failed if done else 0,
                "failed_count": failed,
                "created_at": self.created,
                "completed_at": self.created if done else None,
            },
        }


class KlaviyoState(ProviderState):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.profiles: dict[str, dict[str, Any]] = {}  # id -> attributes
        self.index: dict[str, dict[str, str]] = {name: {} for name in IDENTIFIERS}
        self.lists: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.event_ids: set[str] = set()
        self.jobs: dict[str, ImportJob] = {}
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.profiles.clear()
        for index in self.index.values():
            index.clear()
        now = self.now()
        self.lists = {DEFAULT_LIST: {"name": "Newsletter", "created": now, "members": {}}}
        self.events.clear()
        self.event_ids.clear()
        self.jobs.clear()

    def now(self) -> str:
        return isoformat(self.clock.now())

    def snapshot(self) -> dict[str, Any]:
        return {
            "profiles": [self.resource(pid) for pid in self.profiles],
            "events": list(self.events),
            "subscriptions": {
                lid: list(data["members"].values()) for lid, data in self.lists.items()
            },
            "callbacks": self.callbacks.as_dict(),
        }

    def resource(self, pid: str) -> dict[str, Any]:
        return {"type": "profile", "id": pid, "attributes": self.profiles[pid]}

    def find(self, attributes: dict[str, Any], pid: object = None) -> str | None:
        if isinstance(pid, str) and pid in self.profiles:
            return pid
        for name in IDENTIFIERS:
            value = attributes.get(name)
            if isinstance(value, str):
                key = value.lower() if name == "email" else value
                if key in self.index[name]:
                    return self.index[name][key]
        return None

    def import_profile(
        self, attributes: object, capacity: int | None, pointer: str, pid: object = None
    ) -> tuple[bool, str]:
        """(created, id) after validating; omitted attributes keep their value, null clears."""
        if not isinstance(attributes, dict):
            raise Invalid("attributes must be an object", pointer)
        _check_profile(attributes, pointer)
        found = self.find(attributes, pid)
        created = found is None
        if found is None:
            if capacity is not None and len(self.profiles) >= capacity:
                raise Invalid(
                    "The account's profile limit has been reached.",
                    pointer,
                    code="capacity_exceeded",
                )
            found = self._new_profile()
        profile = self.profiles[found]
        for name, value in attributes.items():
            if name not in ATTRIBUTES:
                continue
            if name in ("properties", "location") and isinstance(value, dict):
                profile[name] = {**(profile.get(name) or {}), **value}
            else:
                self._set(found, name, value)
        profile["updated"] = self.now()
        return created, found

    def set_consent(self, email: str, subscribed: bool, at: datetime) -> None:
        pid = self.find({"email": email})
        if pid is None:
            pid = self._new_profile()
            self._set(pid, "email", email)
        self._consent(pid, "SUBSCRIBED" if subscribed else "UNSUBSCRIBED", isoformat(at))
        if subscribed and DEFAULT_LIST in self.lists:
            self.lists[DEFAULT_LIST]["members"][pid] = email
        elif not subscribed:
            for data in self.lists.values():
                data["members"].pop(pid, None)

    def subscribe(self, rows: list[dict[str, Any]], list_id: str, capacity: int | None) -> None:
        for attributes in rows:
            pid = self.find(attributes)
            if pid is None:
                if capacity is not None and len(self.profiles) >= capacity:
                    continue
                pid = self._new_profile()
                self._set(pid, "email", attributes["email"])
            consented = dig(attributes, "subscriptions", "email", "marketing", "consented_at")
            self._consent(pid, "SUBSCRIBED", consented or self.now())
            self.lists[list_id]["members"][pid] = self.profiles[pid]["email"]

    def unsubscribe(self, rows: list[dict[str, Any]], list_id: str | None) -> None:
        for attributes in rows:
            pid = self.find(attributes)
            if pid is None:
                continue
            self._consent(pid, "UNSUBSCRIBED", self.now())
            for lid, data in self.lists.items():
                if list_id is None or lid == list_id:
                    data["members"].pop(pid, None)

    def add_event(self, data: object) -> Invalid | None:
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attributes, dict):
            return Invalid("data.attributes is required", "/data/attributes")
        metric = dig(attributes, "metric", "data", "attributes", "name")
        if not isinstance(metric, str) or not metric:
            return Invalid(
                "A metric name is required", "/data/attributes/metric/data/attributes/name"
            )
        who = dig(attributes, "profile", "data", "attributes")
        if not isinstance(who, dict) or not any(isinstance(who.get(n), str) for n in IDENTIFIERS):
            return Invalid(
                "A profile identifier is required", "/data/attributes/profile/data/attributes"
            )
        unique_id = attributes.get("unique_id")
        if isinstance(unique_id, str):
            if unique_id in self.event_ids:
                return None
            self.event_ids.add(unique_id)
        self.events.append(
            {
                "id": uuid.uuid4().hex,
                "metric": metric,
                "profile": who,
                "properties": attributes.get("properties", {}),
                "time": attributes.get("time") or self.now(),
                "value": attributes.get("value"),
                "unique_id": unique_id,
            }
        )
        return None

    def _new_profile(self) -> str:
        pid = "01" + uuid.uuid4().hex[:24].upper()
        now = self.now()
        self.profiles[pid] = {
            "email": None,
            "phone_number": None,
            "external_id": None,
            "first_name": None,
            "last_name": None,
            "properties": {},
            "created": now,
            "updated": now,
            "subscriptions": {
                "email": {"marketing": {"consent": "NEVER_SUBSCRIBED", "consent_timestamp": None}}
            },
        }
        return pid

    def _set(self, pid: str, name: str, value: object) -> None:
        """Set one attribute, keeping the identifier indexes in step."""
        profile = self.profiles[pid]
        if name in self.index:
            index, old = self.index[name], profile.get(name)
            if isinstance(old, str):
                index.pop(old.lower() if name == "email" else old, None)
            if isinstance(value, str):
                index[value.lower() if name == "email" else value] = pid
        profile[name] = value

    def _consent(self, pid: str, consent: str, at: str) -> None:
        self.profiles[pid]["subscriptions"]["email"]["marketing"] = {
            "consent": consent,
            "consent_timestamp": at,
        }
        self.profiles[pid]["updated"] = self.now()


def dig(data: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def _check_profile(attributes: dict[str, Any], pointer: str) -> None:
    email = attributes.get("email")
    if email is not None and not emails.is_valid(email):
        raise Invalid(f"Invalid email address: {email}", f"{pointer}/email")
    phone = attributes.get("phone_number")
    if phone is not None and not (isinstance(phone, str) and phone.startswith("+")):
        raise Invalid(f"Invalid phone number: {phone}", f"{pointer}/phone_number")
    if not any(isinstance(attributes.get(name), str) for name in IDENTIFIERS):
        raise Invalid("One of email, phone_number, or external_id is required", pointer)
    if attributes.get("properties") is not None and not isinstance(attributes["properties"], dict):
        raise Invalid("properties must be an object", f"{pointer}/properties")
