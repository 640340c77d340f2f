"""Benchmark Email REST v3, header AuthToken.

Every answer is wrapped in {"Response": {..., "Status": "1"|"-1", "Errors": [...]}} and
failures can come with HTTP 200, so `_call` checks the inner status, not just HTTP.
Batches go through the CSV import, whose status lists the rows Benchmark dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from .base import (
    Account,
    Capacity,
    Consent,
    Contact,
    Destination,
    OrderPayload,
    RemoteConsent,
    RowResult,
    TrackedEvent,
)
from .errors import AuthFailed, CapacityExceeded, Rejected, Transient
from .http import ProviderHttp

BATCH_MAX = 5000
IMPORT_POLLS = 60
AUTH_CODES = {"InvalidToken", "Unauthorized", "AuthenticationFailed"}
CAPACITY_CODES = {"ContactLimitExceeded"}


def _errors(body: Any) -> list[dict[str, Any]]:
    inner = body.get("Response", {}) if isinstance(body, dict) else {}
    return list(inner.get("Errors") or []) if isinstance(inner, dict) else []


def _message(body: Any) -> str | None:
    errors = _errors(body)
    return "; ".join(str(e.get("Message") or e.get("Code")) for e in errors) or None


class Benchmark:
    name = "benchmark"
    batch_size = BATCH_MAX
    has_lists = True
    orders_idempotent = False
    batch_sets_consent = False

    def __init__(self, http: ProviderHttp, token: str) -> None:
        self.http = http
        self._headers = {"AuthToken": token}

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, headers=self._headers, **kwargs)
        self.http.raise_for_status(response, _message)
        body = self.http.json(response)
        inner = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise Transient(f"{self.http.name}: answer without a Response envelope")
        if str(inner.get("Status")) != "1":
            errors = _errors(body)
            codes = {str(e.get("Code")) for e in errors}
            reason = self.http.scrub(f"{self.http.name}: {_message(body) or 'request failed'}")
            if codes & AUTH_CODES:
                raise AuthFailed(reason)
            if codes & CAPACITY_CODES:
                raise CapacityExceeded(reason)
            raise Rejected(reason)
        return inner.get("Data")

    async def verify(self) -> Account:
        data = await self._call("GET", "/Client/")
        return Account(name=str(data.get("CompanyName") or "Benchmark account"))

    async def capacity(self) -> Capacity | None:
        data = await self._call("GET", "/Client/Plan")
        return Capacity(used=int(data["ContactCount"]), limit=int(data["ContactLimit"]))

    async def destinations(self) -> list[Destination]:
        data = await self._call("GET", "/Contact/")
        return [Destination(str(d["ID"]), str(d["Name"])) for d in data or []]

    async def create_destination(self, name: str) -> Destination:
        """Benchmark lists are made on demand (a sync may name a list that is not there yet)."""
        data = await self._call("POST", "/Contact/", json_body={"Data": {"Name": name}})
        return Destination(str(data["ID"]), name)

    async def upsert_contacts(self, destination: str | None,
                              contacts: Sequence[Contact]) -> list[RowResult]:
        if not destination:
            raise Rejected(f"{self.http.name}: contacts go to a list; give --list")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["Email", "FirstName", "LastName", "EmailPerm"])
        for c in contacts:
            subscribed = c.email_consent is not None and c.email_consent.state == "subscribed"
            writer.writerow([c.email or "", c.first_name or "", c.last_name or "",
                             "1" if subscribed else "0"])
        started = await self._call("POST", f"/Contact/{destination}/ContactDetails/CSV",
                                   json_body={"Data": {"CSV": buffer.getvalue()}})
        import_id = started["ImportID"]
        for _ in range(IMPORT_POLLS):
            status = await self._call("GET", "/Contact/ContactImportStatus",
                                      params={"ImportID": import_id})
            if status.get("Status") in ("Completed", "Failed"):
                break
        else:
            raise Transient(f"{self.http.name}: import {import_id} did not complete")
        rejected = {str(r.get("Email", "")).lower(): str(r.get("Reason"))
                    for r in status.get("Rejections") or []}
        return [RowResult(c.key, c.key not in rejected,
                          f"{self.http.name}: {rejected[c.key]}" if c.key in rejected else None)
                for c in contacts]

    async def _find(self, email: str) -> list[dict[str, Any]]:
        data = await self._call("GET", "/Contact/ContactDetails", params={"Search": email})
        return [d for d in data or [] if str(d.get("Email", "")).lower() == email.lower()]

    async def lookup_consent(self, email: str,
                             destination: str | None = None) -> RemoteConsent | None:
        for found in await self._find(email):
            if destination and str(found.get("ListID")) != destination:
                continue
            if found.get("Status") == "Unsubscribed":
                return RemoteConsent("unsubscribed")
            return RemoteConsent("subscribed" if str(found.get("EmailPerm")) == "1"
                                 else "not_subscribed")
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        if consent.state == "not_subscribed":
            return
        subscribed = consent.state == "subscribed"
        data = {"EmailPerm": "1" if subscribed else "0",
                "Status": "Active" if subscribed else "Unsubscribed"}
        found = [f for f in await self._find(email)
                 if not destination or str(f.get("ListID")) == destination]
        if not found and subscribed and destination:
            await self._call("POST", f"/Contact/{destination}/ContactDetails",
                             json_body={"Data": {"Email": email, **data}})
        for contact in found:
            await self._call("PATCH", f"/Contact/{contact['ListID']}/ContactDetails/"
                                      f"{contact['ID']}", json_body={"Data": data})

    async def track_event(self, event: TrackedEvent) -> None:
        raise Rejected(f"{self.http.name}: has no event API; route events to another provider")

    async def export_order(self, order: OrderPayload) -> None:
        raise Rejected(f"{self.http.name}: has no order or event API")

    async def aclose(self) -> None:
        await self.http.aclose()
