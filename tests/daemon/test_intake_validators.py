"""The intake validators, by tables: good input -> the record, bad input -> the field.

The HTTP layer runs these before it commits a request (a refusal is a 400 naming the
field to fix) and the inbox processor runs the same functions on the committed payload,
so what passes here is exactly what lands in the store tables. test_hostile_values.py
covers hostile documents and some type checks; these tables cover the rest: every
reader in `intake/fields.py`, each push kind, Shopify's customer and order mapping, its
topics and its HMAC signature. A case that fails because of a bug in the source is
marked `xfail(strict=True)` with the bug in its reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from patchbayd.intake import fields
from patchbayd.intake.jsondoc import Malformed
from patchbayd.intake.push import (
    MAX_ITEMS,
    items,
    push_customer,
    push_event,
    push_order,
    validate_push,
)
from patchbayd.intake.shopify import customer as shopify_customer
from patchbayd.intake.shopify import order as shopify_order
from patchbayd.intake.shopify import signature, signed, validate
from patchbayd.model import StoreCustomer, StoreEvent, StoreOrder

T = "2026-11-22T12:00:00+02:00"
T_UTC = "2026-11-22T10:00:00.000Z"


def case(name: str, *values: Any, marks: Any = ()) -> Any:
    return pytest.param(*values, id=name, marks=marks)


def refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(Malformed) as caught:
        call(*args, **kwargs)
    return str(caught.value)


# -- intake/fields.py --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "required", "expected"),
    [
        case("a string", {"f": "x"}, False, "x"),
        case("an integer becomes text", {"f": 7}, False, "7"),
        case("zero is a value, not missing", {"f": 0}, True, "0"),
        case("a float becomes text", {"f": 1.5}, False, "1.5"),
        case("absent", {}, False, None),
        case("null", {"f": None}, False, None),
        case("empty string counts as absent", {"f": ""}, False, None),
    ],
)
def test_text_reads(item: dict[str, Any], required: bool, expected: str | None) -> None:
    assert fields.text(item, "f", "at.", required=required) == expected


@pytest.mark.parametrize(
    ("item", "required", "words"),
    [
        case("required and absent", {}, True, "at.f: required"),
        case("required and null", {"f": None}, True, "at.f: required"),
        case("required and empty", {"f": ""}, True, "at.f: required"),
        case("a boolean", {"f": True}, False, "at.f: expected a string"),
        case("false is not absent", {"f": False}, True, "at.f: expected a string"),
        case("a list", {"f": ["x"]}, False, "at.f: expected a string"),
        case("an object", {"f": {}}, False, "at.f: expected a string"),
    ],
)
def test_text_refuses(item: dict[str, Any], required: bool, words: str) -> None:
    assert refused(fields.text, item, "f", "at.", required=required) == words


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case("an offset time is stored in UTC", {"t": T}, T_UTC),
        case("Z is UTC", {"t": "2026-11-22T10:00:00Z"}, T_UTC),
        case("a bare date is midnight UTC", {"t": "2026-11-22"}, "2026-11-22T00:00:00.000Z"),
        case(
            "microseconds are cut to milliseconds",
            {"t": "2026-11-22T10:00:00.123456Z"},
            "2026-11-22T10:00:00.123Z",
        ),
        case("absent", {}, None),
    ],
)
def test_time_reads(item: dict[str, Any], expected: str | None) -> None:
    assert fields.time(item, "t", "") == expected


@pytest.mark.parametrize(
    ("item", "required", "words"),
    [
        case("not a time", {"t": "soon"}, False, "at.t: expected an ISO-8601 time, got 'soon'"),
        case("a number", {"t": 12}, False, "at.t: expected an ISO-8601 time, got '12'"),
        case(
            "a long bad value is quoted cut to 40 characters",
            {"t": "x" * 100},
            False,
            f"at.t: expected an ISO-8601 time, got '{'x' * 40}'",
        ),
        case("no UTC form", {"t": "0001-01-01T00:00:00+01:00"}, False, "at.t: expected an ISO"),
        case("required and absent", {}, True, "at.t: required"),
        case("a list", {"t": [T]}, False, "at.t: expected a string"),
    ],
)
def test_time_refuses(item: dict[str, Any], required: bool, words: str) -> None:
    assert refused(fields.time, item, "t", "at.", required=required).startswith(words)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case("absent is empty", {}, {}),
        case("null is empty", {"o": None}, {}),
        case("an object is itself", {"o": {"a": [1]}}, {"a": [1]}),
    ],
)
def test_obj_reads(item: dict[str, Any], expected: dict[str, Any]) -> None:
    assert fields.obj(item, "o", "") == expected


@pytest.mark.parametrize(
    "value",
    [
        case("a list", [1]),
        case("a string", "x"),
        case("a number", 3),
        case("false", False),
        case("an empty list is not an empty object", []),
    ],
)
def test_obj_refuses(value: Any) -> None:
    assert refused(fields.obj, {"o": value}, "o", "at.") == "at.o: expected an object"


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case("absent", {}, (None, None)),
        case("an empty object", {"c": {}}, (None, None)),
        case("a state alone", {"c": {"state": "unsubscribed"}}, ("unsubscribed", None)),
        case(
            "a state and its time",
            {"c": {"state": "subscribed", "updated_at": T}},
            ("subscribed", T_UTC),
        ),
        case("not subscribed", {"c": {"state": "not_subscribed"}}, ("not_subscribed", None)),
    ],
)
def test_consent_reads(item: dict[str, Any], expected: tuple[str | None, str | None]) -> None:
    assert fields.consent(item, "c", "") == expected


@pytest.mark.parametrize(
    ("item", "words"),
    [
        case("not an object", {"c": "yes"}, "at.c: expected an object"),
        case(
            "an unknown state",
            {"c": {"state": "pending"}},
            "at.c.state: must be one of subscribed, not_subscribed, unsubscribed",
        ),
        case("a time without a state", {"c": {"updated_at": T}}, "at.c.state: must be one of"),
        case(
            "a state of the wrong type",
            {"c": {"state": ["subscribed"]}},
            "at.c.state: must be one of",
        ),
        case(
            "a bad time",
            {"c": {"state": "subscribed", "updated_at": "later"}},
            "at.c.updated_at: expected an ISO-8601 time",
        ),
    ],
)
def test_consent_refuses(item: dict[str, Any], words: str) -> None:
    assert refused(fields.consent, item, "c", "at.").startswith(words)


# -- push: items -------------------------------------------------------------------------

ONE = {"id": "c1", "email": "a@example.com"}
TWO = {"id": "c2", "email": "b@example.com"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        case("one object", ONE, [ONE]),
        case("a list of objects", {"items": [ONE, TWO]}, [ONE, TWO]),
        case("a list of one", {"items": [ONE]}, [ONE]),
        case(
            "'items' beside other keys is one object",
            {"items": [ONE], "id": "x"},
            [{"items": [ONE], "id": "x"}],
        ),
        case("an empty object is one (empty) object", {}, [{}]),
    ],
)
def test_items(body: Any, expected: list[dict[str, Any]]) -> None:
    assert items(body) == expected


def test_items_takes_the_maximum() -> None:
    assert len(items({"items": [ONE] * MAX_ITEMS})) == MAX_ITEMS


@pytest.mark.parametrize(
    ("body", "words"),
    [
        case("a bare list", [ONE], 'expected a JSON object or {"items": [...]}'),
        case("a string", "c1", "expected a JSON object"),
        case("null", None, "expected a JSON object"),
        case("an empty list of items", {"items": []}, "items: expected a non-empty list"),
        case("items not a list", {"items": ONE}, "items: expected a non-empty list"),
        case("a non-object item", {"items": [ONE, "c2"]}, "items[1]: expected an object"),
        case(
            "one too many",
            {"items": [ONE] * (MAX_ITEMS + 1)},
            f"items: at most {MAX_ITEMS} per request, got {MAX_ITEMS + 1}",
        ),
    ],
)
def test_items_refuses(body: Any, words: str) -> None:
    assert refused(items, body).startswith(words)


# -- push: customers ---------------------------------------------------------------------

FULL_CUSTOMER = {
    "id": 42,
    "email": "Ann@Example.com",
    "phone": "+48600100200",
    "first_name": "Ann",
    "last_name": "Nowak",
    "created_at": "2026-06-01",
    "updated_at": T,
    "email_consent": {"state": "subscribed", "updated_at": T},
    "sms_consent": {"state": "unsubscribed"},
    "member": {"points": 10, "tier": "gold", "custom": [1]},
    "tags": ["vip", "gold"],
    "properties": {"colour": "teal"},
}


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case(
            "every field",
            FULL_CUSTOMER,
            StoreCustomer(
                store="demo",
                id="42",
                email="Ann@Example.com",
                phone="+48600100200",
                first_name="Ann",
                last_name="Nowak",
                created_at="2026-06-01T00:00:00.000Z",
                updated_at=T_UTC,
                email_consent="subscribed",
                email_consent_at=T_UTC,
                sms_consent="unsubscribed",
                sms_consent_at=None,
                member={"points": 10, "tier": "gold", "custom": [1]},
                tags=["vip", "gold"],
                properties={"colour": "teal"},
            ),
        ),
        case(
            "an id and an email are enough",
            ONE,
            StoreCustomer(store="demo", id="c1", email="a@example.com"),
        ),
        case(
            "a phone instead of an email",
            {"id": "c1", "phone": "+48600100200"},
            StoreCustomer(store="demo", id="c1", phone="+48600100200"),
        ),
        case(
            "null tags, member and properties are empty",
            {**ONE, "tags": None, "member": None, "properties": None},
            StoreCustomer(store="demo", id="c1", email="a@example.com"),
        ),
        case(
            "the address is kept as given (the sync judges it)",
            {"id": "c1", "email": "nope"},
            StoreCustomer(store="demo", id="c1", email="nope"),
        ),
    ],
)
def test_push_customer(item: dict[str, Any], expected: StoreCustomer) -> None:
    assert push_customer("demo", item) == expected


@pytest.mark.parametrize(
    ("item", "words"),
    [
        case("neither email nor phone", {"id": "c1"}, "email: required (or phone)"),
        case(
            "empty email and phone",
            {"id": "c1", "email": "", "phone": ""},
            "email: required (or phone)",
        ),
        case("no id", {"email": "a@example.com"}, "id: required"),
        case("an id of the wrong type", {**ONE, "id": {"n": 1}}, "id: expected a string"),
        case("tags as a string", {**ONE, "tags": "vip"}, "tags: expected a list of strings"),
        case(
            "a tag that is not a string",
            {**ONE, "tags": ["vip", 1]},
            "tags: expected a list of strings",
        ),
        case(
            "an unknown email consent state",
            {**ONE, "email_consent": {"state": "yes"}},
            "email_consent.state: must be one of",
        ),
        case(
            "a bad sms consent time",
            {**ONE, "sms_consent": {"state": "subscribed", "updated_at": "x"}},
            "sms_consent.updated_at: expected an ISO-8601 time",
        ),
        case(
            "properties not an object",
            {**ONE, "properties": ["colour"]},
            "properties: expected an object",
        ),
        case("member not an object", {**ONE, "member": "gold"}, "member: expected an object"),
        case(
            "a bad creation time",
            {**ONE, "created_at": "yesterday"},
            "created_at: expected an ISO-8601 time",
        ),
        case(
            "a name of the wrong type", {**ONE, "last_name": ["N"]}, "last_name: expected a string"
        ),
    ],
)
def test_push_customer_refuses(item: dict[str, Any], words: str) -> None:
    assert refused(push_customer, "demo", item).startswith(words)


# -- push: orders ------------------------------------------------------------------------

LINES = [{"sku": "T1", "name": "Tea", "quantity": 2, "price": "4.50"}]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case(
            "every field",
            {
                "id": "o1",
                "customer_id": 42,
                "email": "a@example.com",
                "status": "paid",
                "total": 9.0,
                "currency": "EUR",
                "created_at": T,
                "updated_at": T,
                "items": LINES,
            },
            StoreOrder(
                store="demo",
                id="o1",
                customer_id="42",
                email="a@example.com",
                status="paid",
                total="9.0",
                currency="EUR",
                created_at=T_UTC,
                items=LINES,
                updated_at=T_UTC,
            ),
        ),
        case(
            "an id and a status are enough",
            {"id": 7, "status": "pending"},
            StoreOrder(
                store="demo",
                id="7",
                customer_id=None,
                email=None,
                status="pending",
                total=None,
                currency=None,
                created_at=None,
            ),
        ),
        *[
            case(
                f"status {status}",
                {"id": "o1", "status": status},
                StoreOrder(
                    store="demo",
                    id="o1",
                    customer_id=None,
                    email=None,
                    status=status,
                    total=None,
                    currency=None,
                    created_at=None,
                ),
            )
            for status in ("confirmed", "cancelled", "refunded")
        ],
    ],
)
def test_push_order(item: dict[str, Any], expected: StoreOrder) -> None:
    assert push_order("demo", item) == expected


@pytest.mark.parametrize(
    ("item", "words"),
    [
        case("no status", {"id": "o1"}, "status: must be one of pending, confirmed, paid,"),
        case("an unknown status", {"id": "o1", "status": "shipped"}, "status: must be one of"),
        case("a status in capitals", {"id": "o1", "status": "PAID"}, "status: must be one of"),
        case("no id", {"status": "paid"}, "id: required"),
        case(
            "line items as a string",
            {"id": "o1", "status": "paid", "items": "tea"},
            "items: expected a list of objects",
        ),
        case(
            "a line item that is not an object",
            {"id": "o1", "status": "paid", "items": [1]},
            "items: expected a list of objects",
        ),
        case(
            "a total as an object",
            {"id": "o1", "status": "paid", "total": {"amount": 1}},
            "total: expected a string",
        ),
        case(
            "a currency as a list",
            {"id": "o1", "status": "paid", "currency": ["EUR"]},
            "currency: expected a string",
        ),
        case(
            "a bad creation time",
            {"id": "o1", "status": "paid", "created_at": "x"},
            "created_at: expected an ISO-8601 time",
        ),
    ],
)
def test_push_order_refuses(item: dict[str, Any], words: str) -> None:
    assert refused(push_order, "demo", item).startswith(words)


# -- push: events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        case(
            "every field",
            {
                "id": "e1",
                "type": "checkout.abandoned",
                "occurred_at": T,
                "customer": {"id": 42, "email": "a@example.com"},
                "data": {"cart": 12},
            },
            StoreEvent(
                store="demo",
                id="e1",
                type="checkout.abandoned",
                occurred_at=T_UTC,
                customer_id="42",
                email="a@example.com",
                data={"cart": 12},
            ),
        ),
        case(
            "no customer",
            {"id": "e1", "type": "points.expiring", "occurred_at": T},
            StoreEvent(
                store="demo",
                id="e1",
                type="points.expiring",
                occurred_at=T_UTC,
                customer_id=None,
                email=None,
            ),
        ),
    ],
)
def test_push_event(item: dict[str, Any], expected: StoreEvent) -> None:
    assert push_event("demo", item) == expected


EVENT = {"id": "e1", "type": "checkout.abandoned", "occurred_at": T}


@pytest.mark.parametrize(
    ("item", "words"),
    [
        case("no id", {**EVENT, "id": None}, "id: required"),
        case("no type", {**EVENT, "type": ""}, "type: required"),
        case("no time", {"id": "e1", "type": "x"}, "occurred_at: required"),
        case("a bad time", {**EVENT, "occurred_at": "now"}, "occurred_at: expected an ISO-8601"),
        case("customer not an object", {**EVENT, "customer": [42]}, "customer: expected an object"),
        case(
            "a customer id of the wrong type",
            {**EVENT, "customer": {"id": [42]}},
            "customer.id: expected a string",
        ),
        case(
            "a customer email of the wrong type",
            {**EVENT, "customer": {"email": True}},
            "customer.email: expected a string",
        ),
        case("data not an object", {**EVENT, "data": "x"}, "data: expected an object"),
    ],
)
def test_push_event_refuses(item: dict[str, Any], words: str) -> None:
    assert refused(push_event, "demo", item).startswith(words)


# -- push: validate_push (the path in the message) ---------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "words"),
    [
        case(
            "a single customer's field has no prefix",
            "customers",
            {"id": "c1"},
            "email: required (or phone)",
        ),
        case(
            "a batch names the item",
            "customers",
            {"items": [ONE, {"id": "c2"}]},
            "items[1].email: required (or phone)",
        ),
        case(
            "a batch of one names the item",
            "orders",
            {"items": [{"id": "o1"}]},
            "items[0].status: must be one of",
        ),
        case(
            "the first bad item is named",
            "events",
            {"items": [EVENT, {"id": "e2"}, {"id": "e3"}]},
            "items[1].type: required",
        ),
        case(
            "a single order's field has no prefix, even with line items",
            "orders",
            {"id": "o1", "status": "shipped", "items": LINES},
            "status: must be one of",
        ),
    ],
)
def test_validate_push_names_the_field(kind: str, body: Any, words: str) -> None:
    assert refused(validate_push, "demo", kind, body).startswith(words)


def test_validate_push_returns_the_items_unchanged() -> None:
    assert validate_push("demo", "customers", {"items": [ONE, TWO]}) == [ONE, TWO]
    assert validate_push("demo", "orders", {"id": "o1", "status": "paid", "items": LINES}) == [
        {"id": "o1", "status": "paid", "items": LINES}
    ]


# -- Shopify: customers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        case(
            "every field",
            {
                "id": 7,
                "email": "a@example.com",
                "phone": "+48600100200",
                "first_name": "Ann",
                "last_name": "Nowak",
                "created_at": T,
                "updated_at": T,
                "tags": ["vip", "gold"],
                "email_marketing_consent": {"state": "subscribed", "consent_updated_at": T},
                "sms_marketing_consent": {"state": "unsubscribed", "consent_updated_at": None},
            },
            StoreCustomer(
                store="shop",
                id="7",
                email="a@example.com",
                phone="+48600100200",
                first_name="Ann",
                last_name="Nowak",
                created_at=T_UTC,
                updated_at=T_UTC,
                email_consent="subscribed",
                email_consent_at=T_UTC,
                sms_consent="unsubscribed",
                tags=["vip", "gold"],
            ),
        ),
        case("an id is enough", {"id": 7}, StoreCustomer(store="shop", id="7")),
        case(
            "an empty email and null consent",
            {"id": 7, "email": "", "email_marketing_consent": None},
            StoreCustomer(store="shop", id="7"),
        ),
        case("an empty tag string", {"id": 7, "tags": ""}, StoreCustomer(store="shop", id="7")),
        case(
            "pending sms consent is no consent",
            {"id": 7, "sms_marketing_consent": {"state": "pending"}},
            StoreCustomer(store="shop", id="7", sms_consent="not_subscribed"),
        ),
        case(
            "a consent object without a state keeps its time only",
            {"id": 7, "email_marketing_consent": {"consent_updated_at": T}},
            StoreCustomer(store="shop", id="7", email_consent_at=T_UTC),
        ),
    ],
)
def test_shopify_customer(resource: dict[str, Any], expected: StoreCustomer) -> None:
    assert shopify_customer("shop", resource) == expected


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        case("tags as a number", {"id": 7, "tags": 5}, "tags: expected a comma-separated string"),
        case(
            "an unknown sms consent state",
            {"id": 7, "sms_marketing_consent": {"state": "maybe"}},
            "sms_marketing_consent.state: must be one of subscribed, not_subscribed, "
            "unsubscribed or pending",
        ),
        case(
            "a consent state of the wrong type",
            {"id": 7, "email_marketing_consent": {"state": ["subscribed"]}},
            "email_marketing_consent.state: expected a string",
        ),
        case(
            "a bad consent time",
            {
                "id": 7,
                "email_marketing_consent": {"state": "subscribed", "consent_updated_at": "x"},
            },
            "email_marketing_consent.consent_updated_at: expected an ISO-8601 time",
        ),
        case("a phone of the wrong type", {"id": 7, "phone": {}}, "phone: expected a string"),
        case("an empty id", {"id": ""}, "id: required"),
    ],
)
def test_shopify_customer_refuses(resource: dict[str, Any], words: str) -> None:
    assert refused(shopify_customer, "shop", resource).startswith(words)


# -- Shopify: orders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("financial", "confirmed", "status"),
    [
        case("paid", "paid", True, "paid"),
        case("refunded", "refunded", True, "refunded"),
        case("voided is cancelled", "voided", True, "cancelled"),
        case("authorized and confirmed", "authorized", True, "confirmed"),
        case("partially refunded and confirmed", "partially_refunded", True, "confirmed"),
        case("pending and not confirmed", "pending", False, "pending"),
        case("no financial status, confirmed", None, True, "confirmed"),
        case("no financial status, not confirmed", None, None, "pending"),
        case("confirmed must be true, not a string", "authorized", "true", "pending"),
    ],
)
def test_shopify_order_status(financial: str | None, confirmed: Any, status: str) -> None:
    resource = {"id": 1, "financial_status": financial, "confirmed": confirmed}
    assert shopify_order("shop", resource).status == status


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        case(
            "every field",
            {
                "id": 1001,
                "email": "a@example.com",
                "financial_status": "paid",
                "total_price": "9.00",
                "currency": "PLN",
                "created_at": T,
                "updated_at": T,
                "customer": {"id": 7, "email": "other@example.com"},
                "line_items": [
                    {
                        "sku": "T1",
                        "title": "Tea",
                        "quantity": 2,
                        "price": "4.50",
                        "vendor": "ignored",
                    }
                ],
            },
            StoreOrder(
                store="shop",
                id="1001",
                customer_id="7",
                email="a@example.com",
                status="paid",
                total="9.00",
                currency="PLN",
                created_at=T_UTC,
                items=[{"sku": "T1", "name": "Tea", "quantity": 2, "price": "4.50"}],
                updated_at=T_UTC,
            ),
        ),
        case(
            "the customer's email when the order has none",
            {"id": 1, "email": "", "customer": {"id": 7, "email": "c@example.com"}},
            StoreOrder(
                store="shop",
                id="1",
                customer_id="7",
                email="c@example.com",
                status="pending",
                total=None,
                currency=None,
                created_at=None,
            ),
        ),
        case(
            "a guest order",
            {"id": 1, "customer": None},
            StoreOrder(
                store="shop",
                id="1",
                customer_id=None,
                email=None,
                status="pending",
                total=None,
                currency=None,
                created_at=None,
            ),
        ),
        case(
            "a line item without a sku",
            {"id": 1, "line_items": [{"title": "Gift card"}]},
            StoreOrder(
                store="shop",
                id="1",
                customer_id=None,
                email=None,
                status="pending",
                total=None,
                currency=None,
                created_at=None,
                items=[{"sku": None, "name": "Gift card", "quantity": None, "price": None}],
            ),
        ),
    ],
)
def test_shopify_order(resource: dict[str, Any], expected: StoreOrder) -> None:
    assert shopify_order("shop", resource) == expected


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        case("no id", {"financial_status": "paid"}, "id: required"),
        case(
            "a line item that is not an object",
            {"id": 1, "line_items": [1]},
            "line_items: expected a list of objects",
        ),
        case(
            "a customer id of the wrong type",
            {"id": 1, "customer": {"id": [7]}},
            "customer.id: expected a string",
        ),
        case(
            "a customer email of the wrong type (no order email)",
            {"id": 1, "customer": {"email": {}}},
            "customer.email: expected a string",
        ),
        case(
            "a financial status of the wrong type",
            {"id": 1, "financial_status": ["paid"]},
            "financial_status: expected a string",
        ),
        case(
            "a bad creation time",
            {"id": 1, "created_at": "x"},
            "created_at: expected an ISO-8601 time",
        ),
        case(
            "a currency of the wrong type", {"id": 1, "currency": []}, "currency: expected a string"
        ),
    ],
)
def test_shopify_order_refuses(resource: dict[str, Any], words: str) -> None:
    assert refused(shopify_order, "shop", resource).startswith(words)


# -- Shopify: topics and signatures ------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "body", "kind"),
    [
        case("customers/create", "customers/create", {"id": 1}, "customers"),
        case("customers/update", "customers/update", {"id": 1}, "customers"),
        case("orders/paid", "orders/paid", {"id": 1}, "orders"),
        case("orders/create", "orders/create", {"id": 1}, "orders"),
        case("orders/updated", "orders/updated", {"id": 1}, "orders"),
    ],
)
def test_validate_topics(topic: str, body: dict[str, Any], kind: str) -> None:
    assert validate(topic, body) == kind


@pytest.mark.parametrize(
    ("topic", "body", "words"),
    [
        case(
            "a topic not subscribed to",
            "products/create",
            {"id": 1},
            "X-Shopify-Topic 'products/create' is not one patchbay subscribes to",
        ),
        case("no topic", "", {"id": 1}, "X-Shopify-Topic '' is not one"),
        case(
            "a long topic is quoted cut to 60 characters",
            "t" * 200,
            {"id": 1},
            f"X-Shopify-Topic '{'t' * 60}' is not one",
        ),
        case("a list body", "orders/paid", [{"id": 1}], "expected a Shopify resource object"),
        case(
            "a customer is checked as a customer",
            "customers/update",
            {"email": "a@b.co"},
            "id: required",
        ),
        case(
            "an order is checked as an order",
            "orders/paid",
            {"id": 1, "line_items": "x"},
            "line_items: expected a list of objects",
        ),
    ],
)
def test_validate_refuses(topic: str, body: Any, words: str) -> None:
    assert refused(validate, topic, body).startswith(words)


# Computed independently: printf '{"id":1}' | openssl dgst -sha256 -hmac shpss_secret -binary
# | base64 (and the same for an empty body under "k").
SIGNED_BODY = b'{"id":1}'
GOOD = "xocA3LkeJ/RvNrkxep1EUtFHuj7rIoIqZYaLU26LyPQ="


@pytest.mark.parametrize(
    ("secret", "body", "expected"),
    [
        case("a body", "shpss_secret", SIGNED_BODY, GOOD),
        case("an empty body", "k", b"", "i7mQxAp9YcuXWXqUISUCW+UKyL63RDbjc1uYiTp/ZiA="),
    ],
)
def test_signature(secret: str, body: bytes, expected: str) -> None:
    assert signature(secret, body) == expected


@pytest.mark.parametrize(
    ("secret", "body", "given", "accepted"),
    [
        case("the right signature", "shpss_secret", SIGNED_BODY, GOOD, True),
        case("no signature", "shpss_secret", SIGNED_BODY, "", False),
        case("another body", "shpss_secret", b'{"id":2}', GOOD, False),
        case("a body with a trailing newline", "shpss_secret", SIGNED_BODY + b"\n", GOOD, False),
        case("another secret", "other", SIGNED_BODY, GOOD, False),
        case(
            "the signature in hex",
            "shpss_secret",
            SIGNED_BODY,
            "c68700dcb91e27f46f36b9317a9d4452d147ba3eeb22822a65868b536e8bc8f4",
            False,
        ),
        case("padding added", "shpss_secret", SIGNED_BODY, GOOD + "=", False),
        case("lower-cased", "shpss_secret", SIGNED_BODY, GOOD.lower(), False),
        case("non-ASCII junk", "shpss_secret", SIGNED_BODY, "zażółć", False),
    ],
)
def test_signed(secret: str, body: bytes, given: str, accepted: bool) -> None:
    assert signed(secret, body, given) is accepted
