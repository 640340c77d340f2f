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
from ..stores.shopify import customer_record

KINDS = ("customers", "orders", "events")
MAX_ITEMS = 1000


class Malformed(ValueError):
    """The payload cannot be accepted; the message says where and why."""


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
        raise Malformed(f"{where}{name}: expected an ISO-8601 time, got {value!r}")
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
        sms_consent_at=sms_at, member=_object(item, "member", where), tags=tags,
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
        items=lines)


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


def shopify_order(store: str, order: dict[str, Any]) -> StoreOrder:
    status = {"paid": "paid", "refunded": "refunded", "voided": "cancelled"}.get(
        str(order.get("financial_status")), "confirmed" if order.get("confirmed") else "pending")
    customer = order.get("customer") or {}
    return StoreOrder(
        store=store, id=str(order["id"]),
        customer_id=str(customer["id"]) if customer.get("id") is not None else None,
        email=order.get("email") or customer.get("email"), status=status,
        total=str(order.get("total_price")) if order.get("total_price") is not None else None,
        currency=order.get("currency"), created_at=normalize_time(order.get("created_at")),
        items=[{"sku": line.get("sku"), "name": line.get("title"),
                "quantity": line.get("quantity"), "price": line.get("price")}
               for line in order.get("line_items") or []])


SHOPIFY_KINDS = {"customers/create": "customers", "customers/update": "customers",
                 "orders/paid": "orders", "orders/create": "orders", "orders/updated": "orders"}


def validate_shopify(topic: str, body: Any) -> str:
    """The inbox kind of a Shopify webhook; Malformed when it is not one we can use."""
    kind = SHOPIFY_KINDS.get(topic)
    if kind is None:
        raise Malformed(f"X-Shopify-Topic {topic!r} is not one patchbay subscribes to")
    if not isinstance(body, dict) or "id" not in body:
        raise Malformed("expected a Shopify resource object with an id")
    return kind


def record(store: str, source: str, kind: str, item: dict[str, Any]
           ) -> StoreCustomer | StoreOrder | StoreEvent:
    """A committed inbox payload as the record its table holds."""
    if source == "shopify":
        return customer_record(store, item) if kind == "customers" else shopify_order(store, item)
    if kind == "customers":
        return push_customer(store, item)
    return push_order(store, item) if kind == "orders" else push_event(store, item)
