"""The Provider base class and the plain data that crosses it.

Engines speak in these types only; each provider module translates them to its own wire
format. Consent is always sent explicitly (state and the time it changed), because
several providers default a missing status to "subscribed" and a resync must never
re-subscribe someone who left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..model import CONSENT_STATES, ConsentState
from .errors import ProviderError, Rejected
from .jobs import poll_job

if TYPE_CHECKING:
    from .http import ProviderHttp

__all__ = ["CONSENT_STATES", "Consent", "ConsentState", "Contact", "Provider"]

T = TypeVar("T")


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
        return {
            k: v
            for k, v in (
                ("email", self.email),
                ("phone", self.phone),
                ("external_id", self.external_id),
            )
            if v
        }


@dataclass(frozen=True)
class OrderPayload:
    id: str
    email: str | None
    status: str
    total: str | None
    currency: str | None
    created_at: datetime
    items: tuple[Mapping[str, Any], ...] = ()


class Provider:
    """What every provider is, with the defaults and the plumbing they share.

    A provider module subclasses this and translates the neutral types above to its wire
    format. The transport (`http`: client, rate limiter, error taxonomy) is the
    integration's own: nothing is shared between integrations. The optional hooks at the
    end let a provider take part in things only some providers do (creating a list,
    signed callbacks, the webhook action) without the engines or the web layer naming it.
    """

    name: str
    http: ProviderHttp
    batch_size: int = 100  # contacts per upsert_contacts call the provider accepts
    has_lists: bool = False  # whether a sync needs a destination list
    # Whether sending the same order twice leaves one order at the provider (it dedupes
    # by our id). Where it does not, a send cut off by a crash is held back as in doubt.
    orders_idempotent: bool = False
    # Whether a contact batch (a sync) sets the contact's subscribed status as sent, so an
    # opt-in an active sync carries need not also go as a single write.
    batch_sets_consent: bool = False
    creates_destinations: bool = False  # a sync may name a list that does not exist yet
    # In-band failures (HTTP 200 with a failure inside): a marker found in the answer's
    # error codes or message -> the error kind it means. Anything else is Rejected.
    envelope_errors: ClassVar[tuple[tuple[str, type[ProviderError]], ...]] = ()
    # What the provider appends to its opt-in/opt-out callback URLs (its placeholders).
    callback_query: ClassVar[str] = ""

    def __init__(self, http: ProviderHttp, headers: Mapping[str, str] | None = None) -> None:
        self.http = http
        self._headers = dict(headers or {})

    # -- shared plumbing ------------------------------------------------------------

    @staticmethod
    def error_message(body: Any) -> str | None:
        """The provider's own words for a failure in an error answer's body."""
        return None

    def unwrap(self, body: Any) -> Any:
        """The answer's payload; raise for an in-band failure (see `envelope_failure`)."""
        return body

    def envelope_failure(self, markers: Iterable[str], message: str | None) -> ProviderError:
        """An in-band failure as its error kind, by the provider's `envelope_errors`."""
        reason = self.http.scrub(f"{self.http.name}: {message or 'request failed'}")
        found = [m.lower() for m in markers]
        for needle, kind in self.envelope_errors:
            if any(needle.lower() in marker for marker in found):
                return kind(reason)
        return Rejected(reason)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, headers=self._headers or None, **kwargs)
        self.http.raise_for_status(response, self.error_message)
        return self.unwrap(self.http.json(response))

    async def poll_job(self, check: Callable[[], Awaitable[T | None]], what: str) -> T:
        """Wait for an asynchronous job (`check` returns None while it runs)."""
        return await poll_job(check, self.http.limiter.clock, f"{self.http.name}: {what}")

    # -- the interface engines use ----------------------------------------------------

    async def verify(self) -> Account:
        """Raise AuthFailed unless the credentials work; the cheapest authenticated call."""
        raise NotImplementedError

    async def capacity(self) -> Capacity | None:
        """Contacts used and allowed, where the provider exposes it."""
        return None

    async def destinations(self) -> list[Destination]:
        """Lists/audiences a sync can target (empty where the provider has none)."""
        return []

    async def upsert_contacts(
        self, destination: str | None, contacts: Sequence[Contact]
    ) -> list[RowResult]:
        """Create or update a batch; one RowResult per contact, in order."""
        raise NotImplementedError

    async def lookup_consent(
        self, email: str, destination: str | None = None
    ) -> RemoteConsent | None:
        """Email consent at the provider, or None when it does not know the contact."""
        return None

    async def set_consent(self, destination: str | None, email: str, consent: Consent) -> None:
        raise NotImplementedError

    async def track_event(self, event: TrackedEvent) -> None:
        raise Rejected(f"{self.http.name}: events are not supported")

    async def export_order(self, order: OrderPayload) -> None:
        """One confirmed/paid order, identified by its id (Rejected where unsupported)."""
        raise Rejected(f"{self.http.name}: orders are not supported")

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- optional hooks -----------------------------------------------------------------

    async def ensure_destination(self, name: str) -> Destination:
        """Create the list `name` (only where `creates_destinations`)."""
        raise Rejected(f"{self.http.name}: lists are made at the provider, not by patchbay")

    def callback_accepted(self, email: str, fields: Mapping[str, Any]) -> bool:
        """Whether an opt-in/opt-out callback for `email` is authentic (where the provider
        signs its callbacks; others are authenticated by the URL's secret token only)."""
        return True

    async def post(self, payload: Any, url: str | None = None, key: str | None = None) -> None:
        """A route's webhook action: only a webhook integration can take one."""
        raise Rejected("a webhook action needs a webhook integration")


def order_event(order: OrderPayload) -> TrackedEvent:
    """An order as the "Placed Order" event most providers take, keyed by the order id."""
    return TrackedEvent(
        name="Placed Order",
        event_id=f"order-{order.id}",
        occurred_at=order.created_at,
        email=order.email,
        properties={
            "order_id": order.id,
            "status": order.status,
            "value": order.total,
            "currency": order.currency,
            "items": [dict(i) for i in order.items],
        },
    )
