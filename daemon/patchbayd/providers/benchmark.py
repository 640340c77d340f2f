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
    Provider,
    RemoteConsent,
    RowResult,
    TrackedEvent,
)
from .errors import AuthFailed, CapacityExceeded, ProviderError, Rejected, Transient

BATCH_MAX = 5000
ENVELOPE_ERRORS: tuple[tuple[str, type[ProviderError]], ...] = (
    ("InvalidToken", AuthFailed),
    ("Unauthorized", AuthFailed),
    ("AuthenticationFailed", AuthFailed),
    ("ContactLimitExceeded", CapacityExceeded),
)


def _errors(body: Any) -> list[dict[str, Any]]:
    inner = body.get("Response", {}) if isinstance(body, dict) else {}
    return list(inner.get("Errors") or []) if isinstance(inner, dict) else []


def _message(body: Any) -> str | None:
    errors = _errors(body)
    return "; ".join(str(e.get("Message") or e.get("Code")) for e in errors) or None


class Benchmark(Provider):
    name = "benchmark"
    batch_size = BATCH_MAX
    has_lists = True
    orders_idempotent = False
    batch_sets_consent = False

    envelope_errors = ENVELOPE_ERRORS
    creates_destinations = True
    error_message = staticmethod(_message)

    def unwrap(self, body: Any) -> Any:
        """Every answer is {"Response": {"Status": "1"|"-1", "Data": ..., "Errors": [...]}}."""
        inner = body.get("Response") if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise Transient(f"{self.http.name}: answer without a Response envelope")
        if str(inner.get("Status")) != "1":
            raise self.envelope_failure({str(e.get("Code")) for e in _errors(body)}, _message(body))
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

    async def ensure_destination(self, name: str) -> Destination:
        """Benchmark lists are made on demand (a sync may name a list that is not there yet)."""
        data = await self._call("POST", "/Contact/", json_body={"Data": {"Name": name}})
        return Destination(str(data["ID"]), name)

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        if not destination:
            raise Rejected(f"{self.http.name}: contacts go to a list; give --list")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["Email", "FirstName", "LastName", "EmailPerm"])
        for c in contacts:
            subscribed = c.email_consent is not None and c.email_consent.state == "subscribed"
            writer.writerow(
                [c.email or "", c.first_name or "", c.last_name or "", "1" if subscribed else "0"]
            )
        started = await self._call(
            "POST",
            f"/Contact/{destination}/ContactDetails/CSV",
            json_body={"Data": {"CSV": buffer.getvalue()}},
        )
        import_id = started["ImportID"]

        async def completed() -> dict[str, Any] | None:
            status: dict[str, Any] = await self._call(
                "GET", "/Contact/ContactImportStatus", params={"ImportID": import_id}
            )
            return status if status.get("Status") in ("Completed", "Failed") else None

        status = await self.poll_job(completed, f"import {import_id}")
        rejected = {
            str(r.get("Email", "")).lower(): str(r.get("Reason"))
            for r in status.get("Rejections") or []
        }
        return [
            RowResult(
                c.key,
                c.key not in rejected,
                f"{self.http.name}: {rejected[c.key]}" if c.key in rejected else None,
            )
            for c in contacts
        ]

    async def _find(self, email: str) -> list[dict[str, Any]]:
        data = await self._call("GET", "/Contact/ContactDetails", params={"Search": email})
        return [d for d in data or [] if str(d.get("Email", "")).lower() == email.lower()]

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        for found in await self._find(email):
            if destination and str(found.get("ListID")) != destination:
                continue
            if found.get("Status") == "Unsubscribed":
                return RemoteConsent("unsubscribed")
            return RemoteConsent(
                "subscribed" if str(found.get("EmailPerm")) == "1" else "not_subscribed"
            )
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        if consent.state == "not_subscribed":
            return
        subscribed = consent.state == "subscribed"
        data = {
            "EmailPerm": "1" if subscribed else "0",
            "Status": "Active" if subscribed else "Unsubscribed",
        }
        found = [
            f
            for f in await self._find(email)
            if not destination or str(f.get("ListID")) == destination
        ]
        if not found and subscribed and destination:
            await self._call(
                "POST",
                f"/Contact/{destination}/ContactDetails",
                json_body={"Data": {"Email": email, **data}},
            )
        for contact in found:
            await self._call(
                "PATCH",
                f"/Contact/{contact['ListID']}/ContactDetails/{contact['ID']}",
                json_body={"Data": data},
            )

    async def track_event(self, event: TrackedEvent) -> None:
        raise Rejected(f"{self.http.name}: has no event API; route events to another provider")

    async def export_order(self, order: OrderPayload) -> None:
        raise Rejected(f"{self.http.name}: has no order or event API")
