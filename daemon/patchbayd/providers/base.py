"""The Provider protocol and the plain data that crosses it.

Engines speak in these types only; each provider module translates them to its own wire
format. Consent is always sent explicitly (state and the time it changed), because
several providers default a missing status to "subscribed" and a resync must never
re-subscribe someone who left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from .http import ProviderHttp

ConsentState = Literal["subscribed", "not_subscribed", "unsubscribed"]
CONSENT_STATES: tuple[ConsentState, ...] = ("subscribed", "not_subscribed", "unsubscribed")


@dataclass(frozen=True)
class Consent:
    state: ConsentState
    at: datetime | None = None


@dataclass(frozen=True)
class Contact:
    """A contact as patchbay sends it: the default mapping's output, provider-neutral."""

    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_consent: Consent | None = None
    sms_consent: Consent | None = None
    tags: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The identity rows are reported under (email, else phone, else external id)."""
        return (self.email or self.phone or self.external_id or "").lower()


@dataclass(frozen=True)
class RowResult:
    key: str
    ok: bool
    reason: str | None = None
    remote_id: str | None = None


@dataclass(frozen=True)
class Account:
    """Who the credentials belong to, as the provider tells it on verification."""

    name: str


@dataclass(frozen=True)
class Capacity:
    used: int
    limit: int

    @property
    def free(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Destination:
    id: str
    name: str


@dataclass(frozen=True)
class RemoteConsent:
    """A contact's email consent at the provider (lookup on registration)."""

    state: ConsentState
    at: datetime | None = None


@dataclass(frozen=True)
class TrackedEvent:
    name: str
    event_id: str
    occurred_at: datetime
    email: str | None
    properties: Mapping[str, Any] = field(default_factory=dict)
    phone: str | None = None  # when a route matches contacts by phone
    external_id: str | None = None  # or by the store's customer id
    destination: str | None = None  # where the provider files events under a list

    def contact(self) -> dict[str, str]:
        """The identifiers present, by their neutral names."""
        return {k: v for k, v in (("email", self.email), ("phone", self.phone),
                                  ("external_id", self.external_id)) if v}


@dataclass(frozen=True)
class OrderPayload:
    id: str
    email: str | None
    status: str
    total: str | None
    currency: str | None
    created_at: datetime
    items: tuple[Mapping[str, Any], ...] = ()


class Provider(Protocol):
    name: str
    http: ProviderHttp  # its own client and rate limiter: nothing shared between integrations
    batch_size: int  # contacts per upsert_contacts call the provider accepts
    has_lists: bool  # whether a sync needs a destination list
    # Whether sending the same order twice leaves one order at the provider (it dedupes
    # by our id). Where it does not, a send cut off by a crash is held back as in doubt.
    orders_idempotent: bool
    # Whether a contact batch (a sync) sets the contact's subscribed status as sent, so an
    # opt-in an active sync carries need not also go as a single write.
    batch_sets_consent: bool

    async def verify(self) -> Account:
        """Raise AuthFailed unless the credentials work; the cheapest authenticated call."""
        ...

    async def capacity(self) -> Capacity | None:
        """Contacts used and allowed, where the provider exposes it."""
        ...

    async def destinations(self) -> list[Destination]:
        """Lists/audiences a sync can target (empty where the provider has none)."""
        ...

    async def upsert_contacts(self, destination: str | None,
                              contacts: Sequence[Contact]) -> list[RowResult]:
        """Create or update a batch; one RowResult per contact, in order."""
        ...

    async def lookup_consent(self, email: str,
                             destination: str | None = None) -> RemoteConsent | None:
        """Email consent at the provider, or None when it does not know the contact."""
        ...

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        ...

    async def track_event(self, event: TrackedEvent) -> None:
        ...

    async def export_order(self, order: OrderPayload) -> None:
        """One confirmed/paid order, identified by its id (Rejected where unsupported)."""
        ...

    async def aclose(self) -> None:
        ...


def order_event(order: OrderPayload) -> TrackedEvent:
    """An order as the "Placed Order" event most providers take, keyed by the order id."""
    return TrackedEvent(
        name="Placed Order", event_id=f"order-{order.id}", occurred_at=order.created_at,
        email=order.email, properties={"order_id": order.id, "status": order.status,
                                       "value": order.total, "currency": order.currency,
                                       "items": [dict(i) for i in order.items]})
