"""The inbox processor's row classifier, by table: each committed row becomes the record
its table holds, or is set aside with the reason (and never stops the rows beside it)."""

from __future__ import annotations

import json

import pytest

from patchbayd.db.inbox import Pending
from patchbayd.engine.processor import Sorted, classify
from patchbayd.model import ProviderCallback, StoreCustomer, StoreEvent, StoreOrder

CUSTOMER = {"id": "c1", "email": "a@example.com"}
ORDER = {"id": "o1", "status": "paid"}
EVENT = {"id": "e1", "type": "loyalty.points_awarded", "occurred_at": "2026-11-22T10:00:00Z"}
SHOPIFY_CUSTOMER = {"id": 7, "email": "s@example.com", "tags": "vip, tea"}
CALLBACK = {
    "integration": 3,
    "email": "a@example.com",
    "state": "unsubscribed",
    "at": "2026-11-22T10:00:00.000Z",
}


def row(index: int, kind: str, payload: object, source: str = "ingest") -> Pending:
    return Pending(index, "s", kind, source, json.dumps(payload))


CASES = [
    ("a pushed customer", row(1, "customers", CUSTOMER), StoreCustomer),
    ("a pushed order", row(1, "orders", ORDER), StoreOrder),
    ("a pushed event", row(1, "events", EVENT), StoreEvent),
    ("a Shopify customer", row(1, "customers", SHOPIFY_CUSTOMER, "shopify"), StoreCustomer),
    ("a provider callback", row(1, "consent", CALLBACK, "callback"), ProviderCallback),
    (
        "a payload that is not JSON",
        Pending(1, "s", "customers", "ingest", "{nope"),
        "JSONDecodeError",
    ),
    (
        "a customer without an id",
        row(1, "customers", {"email": "a@example.com"}),
        "Malformed: id: required",
    ),
    (
        "a callback missing its state",
        row(1, "consent", {**CALLBACK, "state": "maybe"}, "callback"),
        "Malformed: a provider callback needs",
    ),
]


@pytest.mark.parametrize(("pending", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_one_row(pending: Pending, expected: type | str) -> None:
    mapped, failed = classify([pending])
    if isinstance(expected, str):
        assert mapped == [] and len(failed) == 1
        assert failed[0][0] == pending.id and failed[0][1].startswith(expected)
    else:
        assert failed == [] and isinstance(mapped[0].item, expected)


def test_a_bad_row_does_not_stop_the_others_and_rows_keep_their_order() -> None:
    mapped, failed = classify(
        [
            row(1, "customers", CUSTOMER),
            row(2, "orders", {"id": "x"}),
            row(3, "orders", ORDER),
            row(4, "customers", CUSTOMER),
        ]
    )
    assert [m.inbox_id for m in mapped] == [1, 3, 4]
    assert [f[0] for f in failed] == [2]
    kinds = Sorted.of(mapped)
    assert [seq for _, seq in kinds.customers] == [1, 4]
    assert [seq for _, seq in kinds.orders] == [3]
    assert kinds.events == [] and kinds.callbacks == []
