"""Hostile values, and the requests that carry them, as hypothesis strategies.

Each field of each endpoint gets values of its own kind of wrong: other JSON types,
out-of-range or garbage times, unknown states and statuses, missing required fields.
On top, values that are wrong anywhere: NaN/Infinity, 5,000-digit integers, 5,000-deep
nesting and lone surrogates. json.dumps will not (or cannot) write those, so they are
`Raw` JSON text spliced into the body by `render`. The `tolerated_*` strategies are odd
but typed input (numbers for names, control characters, huge strings): the daemon may
take or refuse it, but must survive it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from tests.adversarial.harness import (
    CALLBACK,
    INGEST_HEADERS,
    MARK,
    TOKEN,
    WEBHOOK_SECRET,
    Case,
    Expect,
)

T0 = "2026-11-22T10:00:00Z"
KINDS = ("customers", "orders", "events")
CONSENT_STATES = ("subscribed", "not_subscribed", "unsubscribed")
ORDER_STATUSES = ("pending", "confirmed", "paid", "cancelled", "refunded")
SHOPIFY_TOPICS = {"customers": ("customers/create", "customers/update"), "orders": ("orders/paid",)}
MAX_BODY = 1024 * 1024  # the daemon's default max_body
MAX_QUERY = 4_000  # longer query strings go in a body (httpx refuses URLs over 64 KiB)
PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "

Path = tuple[str | int, ...]


# -- JSON the standard encoder will not write ------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body verbatim; `scalar` if the refusal can name its field."""

    text: str
    label: str
    scalar: bool = True


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def render(document: Any) -> bytes:
    """`document` as JSON text, with each Raw spliced in as it is."""
    raws: list[str] = []

    def stash(value: Any) -> str:
        if not isinstance(value, Raw):
            raise TypeError(f"cannot render {type(value).__name__}")
        raws.append(value.text)
        return f"\x00raw{len(raws) - 1}\x00"

    text = json.dumps(document, default=stash)
    for index, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{index}\x00"), raw, 1)
    return text.encode()


def describe(value: Any) -> str:
    if isinstance(value, Raw):
        return value.label
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:45]}... ({len(text)} chars)"


def path_name(path: Path) -> str:
    """("items", 0, "price") -> "items[0].price", as the daemon names fields."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


def mutated(item: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of `item` with the field at `path` set to `value` (or removed: MISSING)."""
    changed = copy.deepcopy(item)
    parent: Any = changed
    for part in path[:-1]:
        parent = parent[part]
    if value is MISSING:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return changed


def is_time(value: Any) -> bool:
    """Whether `value` is a time the contract accepts (a test-side reference, not the
    daemon's code): ISO-8601 that has a UTC form."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


def sign(raw: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


# -- values wrong anywhere, and wrong for one kind of field ------------------------------

UNIVERSAL_FIXED = (
    Raw("NaN", "NaN"),
    Raw("Infinity", "Infinity"),
    Raw("-Infinity", "-Infinity"),
    Raw("1e999", "1e999 (a float overflowing to inf)"),
    Raw("-1e999", "-1e999"),
    Raw(f'"\\ud800{MARK}"', "a lone high surrogate"),
    Raw(f'"{MARK}\\udfff"', "a lone low surrogate"),
    Raw('"\\udc00\\ud800"', "a surrogate pair in the wrong order"),
)


def huge_int(digits: int, sign: str = "") -> Raw:
    return Raw(sign + "9" * digits, f"{sign}integer of {digits} digits")


def deep_arrays(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth, f"arrays nested {depth} deep", scalar=False)


def deep_objects(depth: int) -> Raw:
    return Raw('{"a":' * depth + "1" + "}" * depth, f"objects nested {depth} deep", scalar=False)


universal = st.one_of(  # README: over 64 digits, over 32 levels; Python's own limits ~4300/1000
    st.sampled_from(UNIVERSAL_FIXED),
    st.builds(
        huge_int,
        st.one_of(st.integers(65, 200), st.integers(4_300, 6_000)),
        st.sampled_from(["", "-"]),
    ),
    st.builds(deep_arrays, st.one_of(st.integers(33, 100), st.integers(990, 5_000))),
    st.builds(deep_objects, st.one_of(st.integers(33, 100), st.integers(990, 5_000))),
)
bools = st.booleans()
lists = st.one_of(
    st.sampled_from([["x@example.com"], [MARK], [1, 2], [{"a": 1}]]),
    st.lists(st.text(max_size=8), min_size=1, max_size=3),
)
objects = st.one_of(
    st.sampled_from([{"a": 1}, {MARK: MARK}, {"email": "x@example.com"}]),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), min_size=1, max_size=3),
)
numbers = st.one_of(
    st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)
)
marked_text = st.text(min_size=1, max_size=30).map(lambda s: s + MARK)
huge_text = st.integers(10_000, 300_000).map(lambda n: MARK + "x" * n)

BAD_TIMES = (
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0000-00-00T00:00:00Z",
    "2026-13-45T99:99:99Z",
    f"yesterday {MARK}",
    f"2026-11-22T10:00:00Z {MARK}",
    f"2026-11-22T10:00:00Z\x00{MARK}",
    "+275760-09-13T00:00:00Z",
    "2026-11-22T10:00:00+25:00",
    "T",
)
bad_time = st.one_of(
    st.sampled_from(BAD_TIMES),
    st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip()) and not is_time(s)),
    numbers.filter(lambda n: not is_time(n)),
    st.integers(10_000, 300_000).map(lambda n: MARK + "9" * n),
    bools,
    lists,
    objects,
    universal,
)


def bad_enum(allowed: tuple[str, ...]) -> st.SearchStrategy[Any]:
    first = allowed[0]
    near = [a.upper() for a in allowed] + [f" {first}", f"{first}\x00", f"{first} {MARK}", MARK]
    return st.one_of(
        st.sampled_from(near),
        st.text(min_size=1, max_size=30).filter(lambda s: s not in allowed),
        huge_text,
        numbers,
        bools,
        lists,
        objects,
        universal,
    )


TEXT = st.one_of(bools, lists, objects, universal)  # where a string is expected
OBJECT = st.one_of(
    bools, st.lists(st.integers(), min_size=1, max_size=3), marked_text, numbers, universal
)
STR_LIST = st.one_of(
    st.just(True),
    objects,
    marked_text,
    numbers.filter(bool),
    st.lists(st.one_of(st.integers(), st.none(), objects), min_size=1, max_size=3),
    universal,
)
OBJ_LIST = st.one_of(
    st.just(True),
    objects,
    marked_text,
    numbers.filter(bool),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), min_size=1, max_size=3),
    universal,
)
SHOPIFY_TAGS = st.one_of(
    st.just(True),
    objects,
    numbers.filter(bool),
    st.lists(st.one_of(st.integers(), st.none(), objects), min_size=1, max_size=3),
    universal,
)
NUMBER = st.one_of(bools, lists, objects, marked_text, universal)
EXTRA = ("extra_" + MARK,)  # an unknown key: values wrong anywhere are wrong here too


# -- push ingest --------------------------------------------------------------------------


def push_customer(n: int = 1) -> dict[str, Any]:
    return {
        "id": f"adv-c{n}",
        "email": f"adv{n}@example.com",
        "phone": "+48500100200",
        "first_name": "Ann",
        "last_name": "Lee",
        "created_at": T0,
        "updated_at": T0,
        "email_consent": {"state": "subscribed", "updated_at": T0},
        "sms_consent": {"state": "not_subscribed", "updated_at": T0},
        "member": {
            "points": 120,
            "status": "active",
            "tier": "gold",
            "paid_tier": "plus",
            "tier_expires_at": "2027-11-22T10:00:00Z",
        },
        "tags": ["vip"],
        "properties": {"colour": "teal"},
    }


def push_order(n: int = 1) -> dict[str, Any]:
    return {
        "id": f"adv-o{n}",
        "customer_id": f"adv-c{n}",
        "email": f"adv{n}@example.com",
        "status": "paid",
        "total": "129.90",
        "currency": "EUR",
        "created_at": T0,
        "updated_at": T0,
        "items": [{"sku": "T1", "name": "Tea", "quantity": 2, "price": "64.95"}],
    }


def push_event(n: int = 1) -> dict[str, Any]:
    return {
        "id": f"adv-e{n}",
        "type": "loyalty.points_awarded",
        "occurred_at": T0,
        "customer": {"id": f"adv-c{n}", "email": f"adv{n}@example.com"},
        "data": {"points": 50},
    }


PUSH_BASES: dict[str, Callable[[int], dict[str, Any]]] = {
    "customers": push_customer,
    "orders": push_order,
    "events": push_event,
}
CONSENT = {"state": bad_enum(CONSENT_STATES), "updated_at": bad_time}
PUSH_FIELDS: dict[str, dict[Path, st.SearchStrategy[Any]]] = {
    "customers": {
        ("id",): TEXT,
        ("email",): TEXT,
        ("phone",): TEXT,
        ("first_name",): TEXT,
        ("last_name",): TEXT,
        ("created_at",): bad_time,
        ("updated_at",): bad_time,
        ("email_consent",): OBJECT,
        ("sms_consent",): OBJECT,
        **{
            (name, key): value
            for name in ("email_consent", "sms_consent")
            for key, value in CONSENT.items()
        },
        ("member",): OBJECT,
        ("member", "points"): NUMBER,
        ("member", "status"): TEXT,
        ("member", "tier"): TEXT,
        ("member", "paid_tier"): TEXT,
        ("member", "tier_expires_at"): bad_time,
        ("tags",): STR_LIST,
        ("properties",): OBJECT,
        ("properties", "colour"): universal,
        EXTRA: universal,
    },
    "orders": {
        ("id",): TEXT,
        ("customer_id",): TEXT,
        ("email",): TEXT,
        ("status",): bad_enum(ORDER_STATUSES),
        ("total",): TEXT,
        ("currency",): TEXT,
        ("created_at",): bad_time,
        ("updated_at",): bad_time,
        ("items",): OBJ_LIST,
        ("items", 0, "quantity"): universal,
        ("items", 0, "price"): universal,
        EXTRA: universal,
    },
    "events": {
        ("id",): TEXT,
        ("type",): TEXT,
        ("occurred_at",): bad_time,
        ("customer",): OBJECT,
        ("customer", "id"): TEXT,
        ("customer", "email"): TEXT,
        ("data",): OBJECT,
        ("data", "points"): universal,
        EXTRA: universal,
    },
}
PUSH_REQUIRED: dict[str, list[Path]] = {
    "customers": [("id",), ("email",)],  # email: with the phone removed too
    "orders": [("id",), ("status",)],
    "events": [("id",), ("type",), ("occurred_at",)],
}


def ingest_case(
    kind: str,
    content: bytes,
    label: str,
    *,
    names: str | None = None,
    expect: Expect = "refuse",
    status: int | None = None,
    headers: dict[str, str] | None = None,
    store: str = "demo",
    method: str = "POST",
    chunked: bool = False,
) -> Case:
    return Case(
        label=f"{kind}: {label}",
        method=method,
        path=f"/ingest/{store}/{kind}",
        content=content,
        headers=INGEST_HEADERS if headers is None else headers,
        expect=expect,
        status=status,
        names=names,
        chunked=chunked,
    )


def field_names(path: Path, value: Any) -> str | None:
    """What the refusal must name: the field, unless the whole body is what is wrong."""
    return None if isinstance(value, Raw) and not value.scalar else path_name(path)


def push_field_case(kind: str, path: Path, value: Any, wrap: bool) -> Case:
    item = PUSH_BASES[kind](1)
    if kind == "customers" and path == ("email",) and value in (MISSING, "", None):
        item.pop("phone")
    bad = mutated(item, path, value)
    document = {"items": [PUSH_BASES[kind](2), bad]} if wrap else bad
    where = "items[1]." if wrap else ""
    return ingest_case(
        kind,
        render(document),
        f"{where}{path_name(path)} = {describe(value)}",
        names=field_names(path, value),
    )


def _field_and_value(
    fields: dict[Path, st.SearchStrategy[Any]], required: list[Path]
) -> st.SearchStrategy[tuple[Path, Any]]:
    paths = sorted(fields, key=path_name)
    return st.one_of(
        st.sampled_from(paths).flatmap(lambda p: st.tuples(st.just(p), fields[p])),
        st.tuples(st.sampled_from(required), st.sampled_from([MISSING, "", None])),
    )


@st.composite
def push_field_cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(KINDS))
    path, value = draw(_field_and_value(PUSH_FIELDS[kind], PUSH_REQUIRED[kind]))
    return push_field_case(kind, path, value, draw(st.booleans()))


def _not_a_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return True


GOOD_PUSH = render(push_customer(3))
PUSH_DOCUMENTS: list[tuple[bytes, str, str | None]] = [
    (b"", "empty body", None),
    (b"  \n", "whitespace body", None),
    (b"null", "null", None),
    (b"true", "true", None),
    (b"42", "a number", None),
    (f'"{MARK}"'.encode(), "a string", None),
    (b"[]", "an empty list", None),
    (b"[" + GOOD_PUSH + b"]", "a bare list of items", None),
    (b'{"items": []}', "no items", "items"),
    (b'{"items": {}}', "items an object", "items"),
    (f'{{"items": "{MARK}"}}'.encode(), "items a string", "items"),
    (b'{"items": [1]}', "an item that is a number", "items[0]"),
    (b'{"items": [null]}', "an item that is null", "items[0]"),
    (f"{{not json {MARK}".encode(), "not JSON", None),
    (b'{"id": "\xff\xfe"}', "invalid UTF-8", None),
    (GOOD_PUSH[:-1], "truncated JSON", None),
    (b"NaN", "a bare NaN", None),
    (b"9" * 5_000, "a bare 5000-digit integer", None),
    (b"[" * 5_000 + b"]" * 5_000, "a body of lists nested 5000 deep", None),
    (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "a body of objects nested 5000 deep", None),
    (render({"items": [push_customer(i) for i in range(1_001)]}), "1001 items", "items"),
]


@st.composite
def push_document_cases(draw: st.DrawFn) -> Case:
    """Bodies wrong as a whole: not JSON, not an object, not a list of items, no body."""
    kind = draw(st.sampled_from(KINDS))
    content, label, names = draw(
        st.one_of(
            st.sampled_from(PUSH_DOCUMENTS),
            st.binary(max_size=64).filter(_not_a_json_object).map(lambda b: (b, "bytes", None)),
            st.integers(1, len(GOOD_PUSH) - 1).map(
                lambda n: (GOOD_PUSH[:n], f"cut after {n} bytes", None)
            ),
        )
    )
    return ingest_case(kind, content, f"{label}: {describe(content)}", names=names)


def too_large_cases() -> list[Case]:
    """Over max_body: declared by Content-Length, and streamed without one."""
    big = render({**push_customer(5), "first_name": MARK + "x" * (MAX_BODY + 1)})
    return [
        ingest_case("customers", big, "body over max_body", status=413),
        ingest_case("customers", big, "chunked body over max_body", status=413, chunked=True),
    ]


def _with_token(header: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    return headers


WRONG_AUTH = [
    None,
    "",
    "demo-token",
    "Bearer",
    "Bearer  demo-token",
    "Bearer demo-token2",
    "Bearer demo-toke",
    "Bearer DEMO-TOKEN",
    "Token demo-token",
    "Basic ZGVtbzpkZW1vLXRva2Vu",
    f"Bearer {MARK}",
]
path_segment = st.text(
    alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=20
)


@st.composite
def push_access_cases(draw: st.DrawFn) -> Case:
    """Wrong credentials, stores, kinds and methods: 401, 404, 405, nothing written."""
    body = render({**push_customer(4), "first_name": MARK})
    choice = draw(st.sampled_from(["token", "random token", "store", "kind", "method"]))
    if choice == "token":
        header = draw(st.sampled_from(WRONG_AUTH))
        return ingest_case(
            "customers", body, f"Authorization {header!r}", status=401, headers=_with_token(header)
        )
    if choice == "random token":
        token = draw(st.text(alphabet=PRINTABLE, max_size=40).filter(lambda t: t.strip() != TOKEN))
        return ingest_case(
            "customers",
            body,
            f"Bearer {token!r}",
            status=401,
            headers=_with_token(f"Bearer {token}".strip()),
        )
    if choice == "store":
        store = draw(
            st.one_of(
                st.sampled_from(["shop", "DEMO", "demo-", "%00", "demo%2F..%2Fx"]),
                path_segment.filter(lambda s: s != "demo"),
            )
        )
        return ingest_case("customers", body, f"store {store!r}", status=404, store=store)
    if choice == "kind":
        kind = draw(
            st.one_of(
                st.sampled_from(["customer", "Customers", "widgets", "inbox"]),
                path_segment.filter(lambda s: s not in KINDS),
            )
        )
        return ingest_case(kind, body, f"kind {kind!r}", status=404)
    method = draw(st.sampled_from(["GET", "PUT", "DELETE", "PATCH"]))
    return ingest_case("customers", body, f"method {method}", status=405, method=method)


@st.composite
def tolerated_push_cases(draw: st.DrawFn) -> Case:
    """Typed but odd values: the daemon may take or refuse them, never fail on them."""
    kind = draw(st.sampled_from(KINDS))
    item = PUSH_BASES[kind](draw(st.integers(10, 10_000)))
    text_fields = {
        "customers": ["email", "first_name", "last_name", "phone"],
        "orders": ["email", "currency", "total"],
        "events": ["type"],
    }[kind]
    name = draw(st.sampled_from(text_fields))
    value = draw(
        st.one_of(
            numbers,
            st.text(
                alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So", "Lo"]),
                min_size=1,
                max_size=40,
            ),
            st.integers(10_000, 300_000).map(lambda n: "y" * n),
            st.sampled_from(
                [
                    "no-at-sign",
                    "a b@example.com",
                    "@example.com",
                    "x@",
                    "a@b@c",
                    "ZOË@EXAMPLE.COM",
                    "\u202eevil@example.com",
                ]
            ),
        )
    )
    return ingest_case(
        kind, render({**item, name: value}), f"{name} = {describe(value)}", expect="tolerate"
    )


# -- Shopify webhooks ---------------------------------------------------------------------


def shopify_customer(n: int = 1) -> dict[str, Any]:
    at = "2026-11-22T09:30:00-05:00"
    return {
        "id": 7_000 + n,
        "email": f"zoe{n}@example.com",
        "first_name": "Zoe",
        "last_name": "Quinn",
        "phone": "+15555550100",
        "created_at": "2026-11-22T09:00:00-05:00",
        "updated_at": at,
        "tags": "vip, tea",
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": at,
        },
        "sms_marketing_consent": {"state": "not_subscribed", "consent_updated_at": at},
    }


def shopify_order(n: int = 1) -> dict[str, Any]:
    return {
        "id": 9_000 + n,
        "email": f"zoe{n}@example.com",
        "financial_status": "paid",
        "confirmed": True,
        "total_price": "129.90",
        "currency": "EUR",
        "created_at": "2026-11-22T11:00:00Z",
        "updated_at": "2026-11-22T11:00:00Z",
        "customer": {"id": 7_000 + n, "email": f"zoe{n}@example.com"},
        "line_items": [{"sku": "T1", "title": "Tea", "quantity": 2, "price": "64.95"}],
    }


SHOPIFY_BASES: dict[str, Callable[[int], dict[str, Any]]] = {
    "customers": shopify_customer,
    "orders": shopify_order,
}
SHOPIFY_CONSENT = {"state": bad_enum((*CONSENT_STATES, "pending")), "consent_updated_at": bad_time}
SHOPIFY_FIELDS: dict[str, dict[Path, st.SearchStrategy[Any]]] = {
    "customers": {
        ("id",): TEXT,
        ("email",): TEXT,
        ("phone",): TEXT,
        ("first_name",): TEXT,
        ("last_name",): TEXT,
        ("created_at",): bad_time,
        ("updated_at",): bad_time,
        ("tags",): SHOPIFY_TAGS,
        ("email_marketing_consent",): OBJECT,
        ("sms_marketing_consent",): OBJECT,
        **{
            (name, key): value
            for name in ("email_marketing_consent", "sms_marketing_consent")
            for key, value in SHOPIFY_CONSENT.items()
        },
        EXTRA: universal,
    },
    "orders": {
        ("id",): TEXT,
        ("email",): TEXT,
        ("financial_status",): TEXT,
        ("total_price",): TEXT,
        ("currency",): TEXT,
        ("created_at",): bad_time,
        ("updated_at",): bad_time,
        ("customer",): OBJECT,
        ("customer", "id"): TEXT,
        ("line_items",): OBJ_LIST,
        ("line_items", 0, "quantity"): universal,
        ("line_items", 0, "price"): universal,
        EXTRA: universal,
    },
}


def webhook_case(
    content: bytes,
    topic: str,
    label: str,
    *,
    names: str | None = None,
    expect: Expect = "refuse_or_quarantine",
    status: int | None = None,
    store: str = "shop",
    signature: str | None = "good",
    method: str = "POST",
) -> Case:
    headers = {"X-Shopify-Topic": topic, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = sign(content) if signature == "good" else signature
    return Case(
        label=f"{topic}: {label}",
        method=method,
        path=f"/webhooks/shopify/{store}",
        content=content,
        headers=headers,
        expect=expect,
        status=status,
        names=names,
        webhook=True,
    )


def shopify_field_case(resource: str, topic: str, path: Path, value: Any) -> Case:
    bad = mutated(SHOPIFY_BASES[resource](1), path, value)
    return webhook_case(
        render(bad), topic, f"{path_name(path)} = {describe(value)}", names=field_names(path, value)
    )


@st.composite
def shopify_field_cases(draw: st.DrawFn) -> Case:
    """Signed, so they pass the HMAC: the body itself is what is hostile."""
    resource = draw(st.sampled_from(sorted(SHOPIFY_BASES)))
    topic = draw(st.sampled_from(SHOPIFY_TOPICS[resource]))
    path, value = draw(_field_and_value(SHOPIFY_FIELDS[resource], [("id",)]))
    return shopify_field_case(resource, topic, path, value)


SHOPIFY_DOCUMENTS: list[tuple[bytes, str]] = [
    (b"", "empty body"),
    (b"null", "null"),
    (b"[]", "a list"),
    (b"42", "a number"),
    (f'"{MARK}"'.encode(), "a string"),
    (b"{}", "an empty object"),
    (f"{{not json {MARK}".encode(), "not JSON"),
    (b'{"id": "\xff"}', "invalid UTF-8"),
    (b"NaN", "a bare NaN"),
    (b"[" * 5_000 + b"]" * 5_000, "lists nested 5000 deep"),
    (b'{"id": 1, "a":' * 2_500 + b"1" + b"}" * 2_500, "objects nested 2500 deep"),
    (render([shopify_customer(1)]), "a customer inside a list"),
]


@st.composite
def shopify_document_cases(draw: st.DrawFn) -> Case:
    """Signed bodies wrong as a whole, and topics patchbay does not take."""
    if draw(st.booleans()):
        topic = draw(st.sampled_from(["customers/create", "orders/paid"]))
        content, label = draw(
            st.one_of(
                st.sampled_from(SHOPIFY_DOCUMENTS),
                st.binary(max_size=64).filter(_not_a_json_object).map(lambda b: (b, "bytes")),
            )
        )
        return webhook_case(content, topic, f"{label}: {describe(content)}")
    topic = draw(
        st.one_of(
            st.sampled_from(
                ["", "themes/publish", "Customers/Create", "customers/create ", "customers/delete"]
            ),
            st.text(alphabet=PRINTABLE, max_size=30),
        )
    )
    topic = topic.strip()  # header values lose surrounding blanks on the wire
    if topic in (
        "customers/create",
        "customers/update",
        "orders/paid",
        "orders/create",
        "orders/updated",
    ):
        topic = "customers/redact"
    return webhook_case(
        render({**shopify_customer(1), "first_name": MARK}), topic, f"topic {topic!r}"
    )


@st.composite
def shopify_access_cases(draw: st.DrawFn) -> Case:
    """Bad signatures, unknown stores, wrong methods: 401/404/405 and nothing written."""
    raw = render({**shopify_customer(2), "first_name": MARK})
    good = sign(raw)
    choice = draw(st.sampled_from(["fixed", "bytes", "text", "store", "method"]))
    topic = "customers/create"
    if choice == "fixed":
        signature, label = draw(
            st.sampled_from(
                [
                    (None, "no signature"),
                    ("", "an empty signature"),
                    (sign(raw, "wrong-secret"), "signed with another secret"),
                    (sign(raw + b" "), "the signature of another body"),
                    (good.swapcase(), "the signature with its case swapped"),
                    (
                        hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest(),
                        "the HMAC in hex",
                    ),
                    (good + "=", "the signature with padding added"),
                ]
            )
        )
        return webhook_case(raw, topic, label, expect="refuse", status=401, signature=signature)
    if choice == "bytes":
        signature = base64.b64encode(draw(st.binary(min_size=1, max_size=48))).decode()
        return webhook_case(
            raw, topic, f"signature {signature!r}", expect="refuse", status=401, signature=signature
        )
    if choice == "text":
        signature = draw(st.text(alphabet=PRINTABLE, min_size=1, max_size=60)).strip()
        return webhook_case(
            raw, topic, f"signature {signature!r}", expect="refuse", status=401, signature=signature
        )
    if choice == "store":
        store = draw(
            st.one_of(
                st.sampled_from(["demo", "SHOP", "%00"]), path_segment.filter(lambda s: s != "shop")
            )
        )
        return webhook_case(
            raw, topic, f"store {store!r}", expect="refuse", status=404, store=store
        )
    method = draw(st.sampled_from(["GET", "PUT", "DELETE"]))
    return webhook_case(raw, topic, f"method {method}", expect="refuse", status=405, method=method)


@st.composite
def tolerated_shopify_cases(draw: st.DrawFn) -> Case:
    """Odd but typed resources: taken (and applied or quarantined) or refused, no failure."""
    item = shopify_customer(draw(st.integers(100, 10_000)))
    name, value = draw(
        st.one_of(
            st.tuples(
                st.sampled_from(["first_name", "last_name", "phone"]), st.one_of(numbers, st.none())
            ),
            st.tuples(st.just("tags"), st.lists(st.text(max_size=10), max_size=4)),
            st.tuples(st.just("first_name"), st.text(max_size=40)),
            st.tuples(
                st.just("email_marketing_consent"),
                st.sampled_from([{"state": "pending"}, {"state": None}, None]),
            ),
        )
    )
    return webhook_case(
        render({**item, name: value}),
        "customers/update",
        f"{name} = {describe(value)}",
        expect="tolerate",
    )


# -- consent callbacks --------------------------------------------------------------------

CONTROL = [chr(c) for c in range(32)] + ["\x7f"]
BAD_EMAILS = [
    "",
    MARK,
    "@example.com",
    " @example.com",
    f"{MARK}@",
    f"{MARK}@@example.com",
    f"{MARK}@x@example.com",
    f"{MARK} x@example.com",
    f"{MARK}@exa mple.com",
    f"{MARK}\x00@example.com",
    f"{MARK}@example.com\x00",
    f"{MARK}\t@example.com",
]
bad_email = st.one_of(
    st.sampled_from(BAD_EMAILS),
    st.tuples(
        st.sampled_from(CONTROL), st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8)
    ).map(lambda t: f"{MARK}{t[0]}{t[1]}@example.com"),
    st.text(max_size=30).filter(lambda s: "@" not in s).map(lambda s: s + MARK),
    st.integers(250, 2_000).map(lambda n: MARK + "a" * n + "@example.com"),
)
bad_email_value = st.one_of(
    bad_email,
    st.sampled_from([["x@example.com"], [f"{MARK}@example.com"], {"email": "x@example.com"}, True]),
    lists,
    objects,
    numbers,
    universal,
    st.just(Raw('"\\ud800@x.com"', "lone surrogate: \\ud800@x.com")),
    st.integers(100_000, 400_000).map(lambda n: MARK + "a" * n + "@example.com"),
)


def callback_path(direction: str = "opt-in", token: str = CALLBACK) -> str:
    return f"/callbacks/{token}/{direction}"


def callback_get(
    query: dict[str, str],
    label: str,
    *,
    names: str | None = None,
    direction: str = "opt-in",
    status: int | None = None,
    token: str = CALLBACK,
    method: str = "GET",
) -> Case:
    return Case(
        label=label,
        method=method,
        path=callback_path(direction, token),
        params=query,
        names=names,
        status=status,
    )


def callback_post(
    content: bytes, label: str, *, names: str | None = None, direction: str = "opt-out"
) -> Case:
    return Case(
        label=label,
        method="POST",
        path=callback_path(direction),
        content=content,
        headers={"Content-Type": "application/json"},
        names=names,
    )


@st.composite
def callback_email_cases(draw: st.DrawFn) -> Case:
    """Emails that are no address: in the query, or of any type in a JSON body."""
    direction = draw(st.sampled_from(["opt-in", "opt-out"]))
    if draw(st.booleans()):
        email = draw(bad_email)
        return callback_get(
            {"email": email}, f"GET email={describe(email)}", names="email", direction=direction
        )
    value = draw(bad_email_value)
    names = None if isinstance(value, Raw) and not value.scalar else "email"
    return callback_post(
        render({"email": value}), f"POST email={describe(value)}", names=names, direction=direction
    )


callback_time = bad_time.filter(lambda v: isinstance(v, Raw) or bool(v))  # falsy: "absent"
CALLBACK_DOCUMENTS: list[tuple[bytes, str]] = [
    (b"[]", "a list"),
    (b'["x@example.com"]', "a list of an email"),
    (b"42", "a number"),
    (f'"{MARK}@example.com"'.encode(), "a string"),
    (b"null", "null"),
    (f"{{not json {MARK}".encode(), "not JSON"),
    (b'{"email": "\xff@x.com"}', "invalid UTF-8"),
    (b"NaN", "a bare NaN"),
    (b"[" * 5_000 + b"]" * 5_000, "lists nested 5000 deep"),
    (b'{"email": "a@example.com", "x":' * 2_500 + b"1" + b"}" * 2_500, "objects nested 2500 deep"),
]


@st.composite
def callback_body_cases(draw: st.DrawFn) -> Case:
    """Bodies that are no object, and event times that are no time, with a good email."""
    choice = draw(st.sampled_from(["document", "at", "query at"]))
    if choice == "document":
        content, label = draw(st.sampled_from(CALLBACK_DOCUMENTS))
        return callback_post(content, f"body {label}")
    at = draw(callback_time)
    if choice == "at" or not isinstance(at, str) or len(at) > MAX_QUERY:
        return callback_post(
            render({"email": "ok@example.com", "at": at}), f"POST at={describe(at)}"
        )
    return callback_get({"email": "ok@example.com", "at": at}, f"GET at={describe(at)}")


@st.composite
def callback_access_cases(draw: st.DrawFn) -> Case:
    """Unknown tokens and directions (404) and methods (405), with a good email."""
    query = {"email": "ok@example.com"}
    choice = draw(st.sampled_from(["token", "direction", "method"]))
    if choice == "token":
        token = draw(st.one_of(path_segment, st.sampled_from(["%00", "x" * 500])))
        return callback_get(query, f"token {token!r}", token=token, status=404)
    if choice == "direction":
        direction = draw(
            st.one_of(
                st.sampled_from(["opt_in", "OPT-IN", "opt-maybe"]),
                path_segment.filter(lambda s: s not in ("opt-in", "opt-out")),
            )
        )
        return callback_get(query, f"direction {direction!r}", direction=direction, status=404)
    method = draw(st.sampled_from(["PUT", "DELETE", "PATCH"]))
    return callback_get(query, f"method {method}", status=405, method=method)
