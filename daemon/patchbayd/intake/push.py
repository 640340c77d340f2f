"""The push-store ingest format -> store records (customers, orders, loyalty events).

Pure functions: the HTTP layer validates a request with them before committing it (so a
malformed body is a 400 that changes nothing) and the inbox processor maps the committed
payload with the same code afterwards.
"""

from __future__ import annotations

from typing import Any

from ..model import ORDER_STATUSES, StoreCustomer, StoreEvent, StoreOrder
from .fields import Malformed, consent, obj, text, time

KINDS = ("customers", "orders", "events")
MAX_ITEMS = 1000


def items(body: Any) -> list[dict[str, Any]]:
    """One object, or {"items": [...]} of objects."""
    if isinstance(body, dict) and set(body) == {"items"}:
        listed = body["items"]
        if not isinstance(listed, list) or not listed:
            raise Malformed("items: expected a non-empty list of objects")
        if len(listed) > MAX_ITEMS:
            raise Malformed(f"items: at most {MAX_ITEMS} per request, got {len(listed)}")
        for index, item in enumerate(listed):
            if not isinstance(item, dict):
                raise Malformed(f"items[{index}]: expected an object")
        return listed
    if isinstance(body, dict):
        return [body]
    raise Malformed('expected a JSON object or {"items": [...]}')


def _member(item: dict[str, Any], where: str) -> dict[str, Any]:
    """Loyalty membership: the known fields typed (they go out as provider properties and
    drive segments), anything else kept as given."""
    member = obj(item, "member", where)
    at = f"{where}member."
    points = member.get("points")
    if points is not None and (isinstance(points, bool) or not isinstance(points, int | float)):
        raise Malformed(f"{at}points: expected a number")
    for name in ("status", "tier"):
        value = member.get(name)
        if value is not None and not isinstance(value, str):
            raise Malformed(f"{at}{name}: expected a string")
    paid = member.get("paid_tier")
    if paid is not None and not isinstance(paid, bool | str):  # a flag, or the paid tier's name
        raise Malformed(f"{at}paid_tier: expected true, false or a tier name")
    expires = member.get("tier_expires_at")
    if expires is not None and not isinstance(expires, str):
        raise Malformed(f"{at}tier_expires_at: expected a date")
    time(member, "tier_expires_at", at)
    return member


def push_customer(store: str, item: dict[str, Any], where: str = "") -> StoreCustomer:
    email_state, email_at = consent(item, "email_consent", where)
    sms_state, sms_at = consent(item, "sms_consent", where)
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Malformed(f"{where}tags: expected a list of strings")
    email, phone = text(item, "email", where), text(item, "phone", where)
    if email is None and phone is None:
        raise Malformed(f"{where}email: required (or phone)")
    return StoreCustomer(
        store=store,
        id=str(text(item, "id", where, required=True)),
        email=email,
        phone=phone,
        first_name=text(item, "first_name", where),
        last_name=text(item, "last_name", where),
        created_at=time(item, "created_at", where),
        updated_at=time(item, "updated_at", where),
        email_consent=email_state,
        email_consent_at=email_at,
        sms_consent=sms_state,
        sms_consent_at=sms_at,
        member=_member(item, where),
        tags=tags,
        properties=obj(item, "properties", where),
    )


def push_order(store: str, item: dict[str, Any], where: str = "") -> StoreOrder:
    status = item.get("status")
    if status not in ORDER_STATUSES:
        raise Malformed(f"{where}status: must be one of {', '.join(ORDER_STATUSES)}")
    lines = item.get("items") or []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise Malformed(f"{where}items: expected a list of objects")
    return StoreOrder(
        store=store,
        id=str(text(item, "id", where, required=True)),
        customer_id=text(item, "customer_id", where),
        email=text(item, "email", where),
        status=str(status),
        total=text(item, "total", where),
        currency=text(item, "currency", where),
        created_at=time(item, "created_at", where),
        items=lines,
        updated_at=time(item, "updated_at", where),
    )


def push_event(store: str, item: dict[str, Any], where: str = "") -> StoreEvent:
    customer = obj(item, "customer", where)
    return StoreEvent(
        store=store,
        id=str(text(item, "id", where, required=True)),
        type=str(text(item, "type", where, required=True)),
        occurred_at=str(time(item, "occurred_at", where, required=True)),
        customer_id=text(customer, "id", f"{where}customer."),
        email=text(customer, "email", f"{where}customer."),
        data=obj(item, "data", where),
    )


PUSH: dict[str, Any] = {"customers": push_customer, "orders": push_order, "events": push_event}


def validate_push(store: str, kind: str, body: Any) -> list[dict[str, Any]]:
    """The items of an ingest request, each checked; Malformed names the first bad field."""
    found = items(body)
    many = isinstance(body, dict) and set(body) == {"items"}  # the envelope, not a field
    for index, item in enumerate(found):
        PUSH[kind](store, item, f"items[{index}]." if many else "")
    return found
