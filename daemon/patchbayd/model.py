"""Domain records shared by the database modules, the engines and the control API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .secret import Secret

ConsentState = Literal["subscribed", "not_subscribed", "unsubscribed"]
CONSENT_STATES: tuple[ConsentState, ...] = ("subscribed", "not_subscribed", "unsubscribed")


@dataclass(frozen=True)
class Integration:
    id: int
    provider: str
    store: str
    state: str
    reason: str | None
    account: str | None
    settings: dict[str, str]
    secret: Secret | None
    fingerprint: str | None
    callback_token: str
    created_at: str
    last_activity_at: str | None = None
    last_activity: str | None = None
    disconnected_at: str | None = None

    def public(self) -> dict[str, Any]:
        """What the API may show: never the secret, at most its fingerprint."""
        return {
            "id": self.id,
            "provider": self.provider,
            "store": self.store,
            "state": self.state,
            "reason": self.reason,
            "account": self.account,
            "settings": dict(self.settings),
            "fingerprint": self.fingerprint,
            "created_at": self.created_at,
            "last_activity_at": self.last_activity_at,
            "last_activity": self.last_activity,
        }


@dataclass(frozen=True)
class StoreCustomer:
    """A customer row in a store's customers table (push or Shopify alike)."""

    store: str
    id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    email_consent: str | None = None
    email_consent_at: str | None = None
    sms_consent: str | None = None
    sms_consent_at: str | None = None
    member: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


ORDER_STATUSES = ("pending", "confirmed", "paid", "cancelled", "refunded")


@dataclass(frozen=True)
class StoreOrder:
    store: str
    id: str
    customer_id: str | None
    email: str | None
    status: str
    total: str | None
    currency: str | None
    created_at: str | None
    items: list[dict[str, Any]] = field(default_factory=list)
    updated_at: str | None = None  # guards the status: an older update never wins


@dataclass(frozen=True)
class StoreEvent:
    store: str
    id: str
    type: str
    occurred_at: str
    customer_id: str | None
    email: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderCallback:
    """A provider telling us a contact opted in or out (its callback, accepted)."""

    store: str
    integration_id: int
    email: str
    state: ConsentState
    at: str


SYNC_MODES = ("active", "once")
SEGMENTS = ("all", "subscribers", "new", "returning", "abandoned_checkout")


@dataclass(frozen=True)
class Sync:
    id: int
    integration_id: int
    segment: str
    destination: str | None
    mode: str
    rules: dict[str, Any]
    state: str  # idle | running | stopped | done | error
    reason: str | None
    seq_done: int
    created_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration": self.integration_id,
            "segment": self.segment,
            "list": self.destination,
            "mode": self.mode,
            "rules": self.rules,
            "state": self.state,
            "reason": self.reason,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class SyncRun:
    id: int
    sync_id: int
    state: str  # running | done | failed | stopped
    full: bool
    upto_seq: int
    cursor_seq: int
    retry_done: bool
    counts: dict[str, Any]
    error: str | None
    started_at: str
    finished_at: str | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sync": self.sync_id,
            "state": self.state,
            "full": self.full,
            "counts": self.counts,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
