"""Inbound payloads -> store records, with errors that name the offending field.

Pure functions: the HTTP layer validates a request with them before committing it (so a
malformed body is a 400 that changes nothing) and the inbox processor maps the committed
payload with the same code afterwards.
"""

from __future__ import annotations

from typing import Any

from ..clock import normalize_time
from ..model import ORDER_STATUSES, StoreCustomer, StoreEvent, StoreOrder
from ..providers.base import CONSENT_STATES
from .jsondoc import Malformed

__all__ = ["KINDS", "Malformed", "record", "validate_push", "validate_shopify"]

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
    raise Malformed("expected a JSON object or {\"items\": [...]}")


def _text(item: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"{where}{name}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Malformed(f"{where}{name}: expected a string")
    return str(value)


def _time(item: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = _text(item, name, where, required=required)
    if value is None:
        return None
    normal = normalize_time(value)
    if normal is None:
        raise Malformed(f"{where}{name}: expected an ISO-8601 time, got {value[:40]!r}")
    return normal


def _object(item: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = item.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{where}{name}: expected an object")
    return value


def _consent(item: dict[str, Any], name: str, where: str) -> tuple[str | None, str | None]:
    consent = _object(item, name, where)
    if not consent:
        return None, None
    state = consent.get("state")
    if state not in CONSENT_STATES:
        raise Malformed(f"{where}{name}.state: must be one of {', '.join(CONSENT_STATES)}")
    return str(state), _time(consent, "updated_at", f"{where}{name}.")


def _member(item: dict[str, Any], where: str) -> dict[str, Any]:
    """Loyalty membership: the known fields typed (they go out as provider properties and
    drive segments), anything else kept as given."""
    member = _object(item, "member", where)
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
    _time(member, "tier_expires_at", at)
    return member


def push_customer(store: str, item: dict[str, Any], where: str = "") -> StoreCustomer:
    email_state, email_at = _consent(item, "email_consent", where)
    sms_state, sms_at = _consent(item, "sms_consent", where)
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Malformed(f"{where}tags: expected a list of strings")
    email, phone = _text(item, "email", where), _text(item, "phone", where)
    if email is None and phone is None:
        raise Malformed(f"{where}email: required (or phone)")
    return StoreCustomer(
        store=store, id=str(_text(item, "id", where, required=True)), email=email, phone=phone,
        first_name=_text(item, "first_name", where), last_name=_text(item, "last_name", where),
        created_at=_time(item, "created_at", where), updated_at=_time(item, "updated_at", where),
        email_consent=email_state, email_consent_at=email_at, sms_consent=sms_state,
        sms_consent_at=sms_at, member=_member(item, where), tags=tags,
        properties=_object(item, "properties", where))


def push_order(store: str, item: dict[str, Any], where: str = "") -> StoreOrder:
    status = item.get("status")
    if status not in ORDER_STATUSES:
        raise Malformed(f"{where}status: must be one of {', '.join(ORDER_STATUSES)}")
    lines = item.get("items") or []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise Malformed(f"{where}items: expected a list of objects")
    return StoreOrder(
        store=store, id=str(_text(item, "id", where, required=True)),
        customer_id=_text(item, "customer_id", where), email=_text(item, "email", where),
        status=str(status), total=_text(item, "total", where),
        currency=_text(item, "currency", where), created_at=_time(item, "created_at", where),
        items=lines, updated_at=_time(item, "updated_at", where))


def push_event(store: str, item: dict[str, Any], where: str = "") -> StoreEvent:
    customer = _object(item, "customer", where)
    return StoreEvent(
        store=store, id=str(_text(item, "id", where, required=True)),
        type=str(_text(item, "type", where, required=True)),
        occurred_at=str(_time(item, "occurred_at", where, required=True)),
        customer_id=_text(customer, "id", f"{where}customer."),
        email=_text(customer, "email", f"{where}customer."), data=_object(item, "data", where))


PUSH: dict[str, Any] = {"customers": push_customer, "orders": push_order, "events": push_event}


def validate_push(store: str, kind: str, body: Any) -> list[dict[str, Any]]:
    """The items of an ingest request, each checked; Malformed names the first bad field."""
    found = items(body)
    many = len(found) > 1 or (isinstance(body, dict) and "items" in body)
    for index, item in enumerate(found):
        PUSH[kind](store, item, f"items[{index}]." if many else "")
    return found


def _shopify_consent(item: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    consent = _object(item, name, "")
    if not consent:
        return None, None
    state = _text(consent, "state", f"{name}.")
    if state == "pending":
        state = "not_subscribed"  # double opt-in not confirmed yet: not consent
    if state is not None and state not in CONSENT_STATES:
        raise Malformed(f"{name}.state: must be one of {', '.join(CONSENT_STATES)} or pending")
    return state, _time(consent, "consent_updated_at", f"{name}.")


def shopify_customer(store: str, customer: dict[str, Any]) -> StoreCustomer:
    """A Shopify customer resource as a row of the store's customers table; every field
    is type-checked, so a hostile (but signed) webhook is refused, not stored."""
    email_state, email_at = _shopify_consent(customer, "email_marketing_consent")
    sms_state, sms_at = _shopify_consent(customer, "sms_marketing_consent")
    tags = customer.get("tags") or ""
    if isinstance(tags, str):
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        tag_list = list(tags)
    else:
        raise Malformed("tags: expected a comma-separated string")
    return StoreCustomer(
        store=store, id=str(_text(customer, "id", "", required=True)),
        email=_text(customer, "email", ""), phone=_text(customer, "phone", ""),
        first_name=_text(customer, "first_name", ""), last_name=_text(customer, "last_name", ""),
        created_at=_time(customer, "created_at", ""), updated_at=_time(customer, "updated_at", ""),
        email_consent=email_state, email_consent_at=email_at, sms_consent=sms_state,
        sms_consent_at=sms_at, tags=tag_list)


def shopify_order(store: str, order: dict[str, Any]) -> StoreOrder:
    financial = _text(order, "financial_status", "")
    status = {"paid": "paid", "refunded": "refunded", "voided": "cancelled"}.get(
        str(financial), "confirmed" if order.get("confirmed") is True else "pending")
    customer = _object(order, "customer", "")
    lines = order.get("line_items") or []
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise Malformed("line_items: expected a list of objects")
    return StoreOrder(
        store=store, id=str(_text(order, "id", "", required=True)),
        customer_id=_text(customer, "id", "customer."),
        email=_text(order, "email", "") or _text(customer, "email", "customer."),
        status=status, total=_text(order, "total_price", ""),
        currency=_text(order, "currency", ""), created_at=_time(order, "created_at", ""),
        items=[{"sku": line.get("sku"), "name": line.get("title"),
                "quantity": line.get("quantity"), "price": line.get("price")}
               for line in lines],
        updated_at=_time(order, "updated_at", ""))


SHOPIFY_KINDS = {"customers/create": "customers", "customers/update": "customers",
                 "orders/paid": "orders", "orders/create": "orders", "orders/updated": "orders"}


def validate_shopify(topic: str, body: Any) -> str:
    """The inbox kind of a Shopify webhook; Malformed when it is not one we can use."""
    kind = SHOPIFY_KINDS.get(topic)
    if kind is None:
        raise Malformed(f"X-Shopify-Topic {topic[:60]!r} is not one patchbay subscribes to")
    if not isinstance(body, dict):
        raise Malformed("expected a Shopify resource object")
    record("", "shopify", kind, body)  # the processor's own mapping, so it cannot fail later
    return kind


def record(store: str, source: str, kind: str, item: dict[str, Any]
           ) -> StoreCustomer | StoreOrder | StoreEvent:
    """A committed inbox payload as the record its table holds."""
    if source == "shopify":
        return shopify_customer(store, item) if kind == "customers" else shopify_order(store, item)
    if kind == "customers":
        return push_customer(store, item)
    return push_order(store, item) if kind == "orders" else push_event(store, item)
