"""Store customer -> provider-neutral Contact, and the reasons a customer is not sent.

Pure functions over plain records, so every rule has a table-driven test. The default
mapping sends loyalty membership (points, status, tier, paid tier, expiry) and the
acquisition date as custom properties, since no provider has native fields for them;
`--map store_field=dest_field` renames or adds.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import parse_time
from ..model import StoreCustomer
from ..providers.base import Consent, ConsentState, Contact

DEFAULT_PROPERTIES = {
    "member.points": "points",
    "member.status": "member_status",
    "member.tier": "tier",
    "member.paid_tier": "paid_tier",
    "member.tier_expires_at": "tier_expires_at",
    "created_at": "acquired_at",
}
STORE_FIELDS = (
    *DEFAULT_PROPERTIES,
    "email",
    "phone",
    "first_name",
    "last_name",
    "updated_at",
    "email_consent",
    "sms_consent",
)
ROLE_PREFIXES = frozenset(
    {
        "abuse",
        "admin",
        "administrator",
        "billing",
        "contact",
        "help",
        "hostmaster",
        "info",
        "mail",
        "marketing",
        "no-reply",
        "noreply",
        "office",
        "postmaster",
        "privacy",
        "sales",
        "security",
        "support",
        "team",
        "webmaster",
    }
)
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
TAG = re.compile(r"^[^\s,]+$")
REASONS = (
    "invalid_address",
    "role_address",
    "duplicate",
    "not_subscribed",
    "unsubscribed",
    "outside_acquisition_range",
    "not_in_segment",
)


class MappingError(ValueError):
    pass


@dataclass(frozen=True)
class SyncRules:
    """What a sync sends: its mapping, tags, and filters. Plain data, stored as JSON."""

    mapping: Mapping[str, str] = field(default_factory=dict)  # overrides of DEFAULT_PROPERTIES
    tags: tuple[str, ...] = ()
    export_opted_out: bool = False
    acquired_since: datetime | None = None
    acquired_until: datetime | None = None


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """['member.points=loyalty_points', 'properties.colour=colour'] -> dict, checked."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, eq, dest = pair.partition("=")
        source, dest = source.strip(), dest.strip()
        if not eq or not source:
            raise MappingError(f"--map takes store_field=dest_field, got {pair!r}")
        if source not in STORE_FIELDS and (
            not source.startswith("properties.") or source == "properties."
        ):
            raise MappingError(
                f"unknown store field {source!r}; one of "
                f"{', '.join(STORE_FIELDS)} or properties.NAME"
            )
        if dest and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}", dest):
            raise MappingError(f"destination field {dest!r} must be a plain name")
        mapping[source] = dest
    return mapping


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Comma-separated, no spaces (SALESmanago's rule, and the product's)."""
    if not text:
        return ()
    tags = text.split(",")
    for tag in tags:
        if not TAG.match(tag):
            raise MappingError(
                f"tags are comma-separated with no spaces; {tag!r} is not a tag"
                if tag
                else "tags are comma-separated with no empty entries"
            )
    return tuple(tags)


def email_problem(email: str | None) -> str | None:
    """The one address rule, for every contact that leaves and every callback that comes
    in (RFC 5321 lengths: 64 before the @, 254 in all)."""
    if not email or len(email) > 254 or not EMAIL.match(email) or ".." in email:
        return "invalid_address"
    local = email.split("@", 1)[0]
    if len(local) > 64 or local.startswith(".") or local.endswith("."):
        return "invalid_address"
    if email.split("@", 1)[0].lower() in ROLE_PREFIXES:
        return "role_address"
    return None


def ineligible(email: str | None) -> str | None:
    """Why a single write (route delivery, consent change, order) must not go to this
    address, or None: the same rule a sync filters by, worded for the dead letter."""
    problem = email_problem(email.lower() if email else None)
    return (
        f"not eligible: {problem.replace('_', ' ')} (a sync would not send it either)"
        if problem
        else None
    )


def exclusion(customer: StoreCustomer, rules: SyncRules, *, duplicate: bool) -> str | None:
    """Why this customer is not sent (one of REASONS), or None to send it."""
    problem = email_problem(customer.email)
    if problem:
        return problem
    if duplicate:
        return "duplicate"
    if not rules.export_opted_out and customer.email_consent != "subscribed":
        return "unsubscribed" if customer.email_consent == "unsubscribed" else "not_subscribed"
    acquired = parse_time(customer.created_at)
    if rules.acquired_since or rules.acquired_until:
        if acquired is None:
            return "outside_acquisition_range"
        if rules.acquired_since and acquired < rules.acquired_since:
            return "outside_acquisition_range"
        if rules.acquired_until and acquired > rules.acquired_until:
            return "outside_acquisition_range"
    return None


def _consent(state: str | None, at: str | None) -> Consent | None:
    if state not in ("subscribed", "not_subscribed", "unsubscribed"):
        return None
    value: ConsentState = state  # type: ignore[assignment]
    return Consent(value, parse_time(at))


def _source(customer: StoreCustomer, name: str) -> Any:
    if name.startswith("member."):
        return customer.member.get(name.split(".", 1)[1])
    if name.startswith("properties."):
        return customer.properties.get(name.split(".", 1)[1])
    return getattr(customer, name, None)


def to_contact(customer: StoreCustomer, rules: SyncRules) -> Contact:
    mapping = {
        **DEFAULT_PROPERTIES,
        **{f"properties.{k}": k for k in customer.properties},
        **rules.mapping,
    }
    properties = {
        dest: value
        for source, dest in mapping.items()
        if dest and (value := _source(customer, source)) is not None
    }
    return Contact(
        email=customer.email.lower() if customer.email else None,
        phone=customer.phone,
        external_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email_consent=_consent(customer.email_consent, customer.email_consent_at),
        sms_consent=_consent(customer.sms_consent, customer.sms_consent_at),
        tags=tuple(dict.fromkeys([*customer.tags, *rules.tags])),
        properties=properties,
    )


def unsendable(contact: Contact) -> str | None:
    """Why this contact cannot go out as JSON (a non-finite number stored by an older
    version, say), or None. Such a row fails alone; its batch and its run go on."""
    for name, value in contact.properties.items():
        try:
            json.dumps(value, allow_nan=False)
        except (ValueError, TypeError):
            return f"property {name}: not a value JSON can carry (NaN or Infinity?)"
    return None


def payload_hash(contact: Contact, destination: str | None) -> str:
    """Changes exactly when what would be sent changes."""
    consent = [
        (c.state, c.at.isoformat() if c.at else None) if c else None
        for c in (contact.email_consent, contact.sms_consent)
    ]
    body = [
        destination,
        contact.email,
        contact.phone,
        contact.external_id,
        contact.first_name,
        contact.last_name,
        consent,
        list(contact.tags),
        sorted(contact.properties.items()),
    ]
    # Nested objects too are hashed in key order: the same data resent by the store in
    # another order is not a change (flat payloads hash exactly as before).
    return hashlib.sha256(json.dumps(body, default=str, sort_keys=True).encode()).hexdigest()[:32]
