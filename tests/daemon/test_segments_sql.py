"""Each sync segment's SQL, run on a real (temporary) database: who is in, who is not.

A segment is a SQL fragment (`db/syncs.py: SEGMENT_SQL`) that every scan, capacity check
and progress count of a sync shares; only `returning` was exercised, end to end, before.
Here every segment runs through the same `scan` a sync run makes, on a database opened
with the project's migrations and filled with its own upserts, so a change to a
fragment, a column or a stored time format shows up as a customer who should (or should
not) have been selected. The segment decides membership only: addresses, consent and
duplicates are the mapping's filters (`exclusion`), so an unsubscribed customer or one
without an email is *in* the `all` segment on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from patchbayd.clock import FakeClock, isoformat
from patchbayd.db import Database
from patchbayd.db import syncs as rows
from patchbayd.db.customers import insert_events, upsert_customers, upsert_orders
from patchbayd.model import SEGMENTS, StoreCustomer, StoreEvent, StoreOrder

pytestmark = pytest.mark.anyio

NOW = FakeClock().now()
NEW_SINCE = isoformat(NOW - timedelta(days=30))  # what SyncEngine._new_since passes
OLD = "2026-01-01T00:00:00.000Z"
MS = timedelta(milliseconds=1)
Record = StoreCustomer | StoreOrder | StoreEvent


def at(delta: timedelta) -> str:
    """A stored time relative to the 'new' boundary, in the form intake stores."""
    return isoformat(NOW - timedelta(days=30) + delta)


EDGE = isoformat(NOW - timedelta(days=30))  # exactly on the 'new' boundary


def person(cid: str, store: str = "demo", **changes: Any) -> StoreCustomer:
    fields: dict[str, Any] = {
        "email": f"{cid}@example.com",
        "created_at": OLD,
        "email_consent": "subscribed",
        **changes,
    }
    return StoreCustomer(store=store, id=cid, **fields)


def order(
    oid: str,
    customer_id: str | None,
    created_at: str | None = OLD,
    status: str = "paid",
    store: str = "demo",
    email: str | None = None,
) -> StoreOrder:
    return StoreOrder(
        store=store,
        id=oid,
        customer_id=customer_id,
        email=email,
        status=status,
        total="1.00",
        currency="EUR",
        created_at=created_at,
    )


def abandoned(
    eid: str,
    customer_id: str | None,
    occurred_at: str = OLD,
    kind: str = "checkout.abandoned",
    store: str = "demo",
    email: str | None = None,
) -> StoreEvent:
    return StoreEvent(
        store=store,
        id=eid,
        type=kind,
        occurred_at=occurred_at,
        customer_id=customer_id,
        email=email,
    )


async def stored(tmp_path: Path, records: Sequence[Record]) -> Database:
    """A fresh database holding `records`, each with its own seq, as the processor does."""
    db = await Database.open(tmp_path / "state.db")
    numbered = list(enumerate(records, start=1))
    async with db.transaction() as conn:
        await upsert_customers(
            conn, [(r, s) for s, r in numbered if isinstance(r, StoreCustomer)], isoformat(NOW)
        )
        await upsert_orders(conn, [(r, s) for s, r in numbered if isinstance(r, StoreOrder)])
        await insert_events(conn, [(r, s) for s, r in numbered if isinstance(r, StoreEvent)])
    return db


async def members(db: Database, segment: str, store: str = "demo") -> list[str]:
    found = await rows.scan(
        db, store, segment, after=0, upto=10**9, limit=1000, new_since=NEW_SINCE
    )
    return [c.id for c, _seq, _dup in found]


def case(name: str, *values: Any) -> Any:
    return pytest.param(*values, id=name)


CASES = [  # (segment, records) -> ids selected, in seq order
    # all: every customer of the store, whatever their address or consent.
    case(
        "all: everyone, the unsubscribed and the address-less included",
        "all",
        [
            person("a"),
            person("b", email_consent="unsubscribed"),
            person("c", email=None, phone="+48600100200"),
            person("d", email_consent=None),
            person("e", email="info@example.com"),
        ],
        ["a", "b", "c", "d", "e"],
    ),
    case(
        "all: another store's customers are not this store's",
        "all",
        [person("a"), person("a", store="other"), person("z", store="other")],
        ["a"],
    ),
    case("all: an empty store selects nobody", "all", [person("z", store="other")], []),
    # subscribers: email consent subscribed, nothing else.
    case(
        "subscribers: only the subscribed",
        "subscribers",
        [
            person("sub"),
            person("unsub", email_consent="unsubscribed"),
            person("not", email_consent="not_subscribed"),
            person("none", email_consent=None),
        ],
        ["sub"],
    ),
    case(
        "subscribers: sms consent is not email consent",
        "subscribers",
        [person("sms", email_consent=None, sms_consent="subscribed")],
        [],
    ),
    case(
        "subscribers: a subscribed customer without an email is in (the mapping drops it)",
        "subscribers",
        [person("noemail", email=None, phone="+48600100200")],
        ["noemail"],
    ),
    case(
        "subscribers: the state is matched exactly",
        "subscribers",
        [person("caps", email_consent="Subscribed")],
        [],
    ),
    case(
        "subscribers: another store's subscriber is not in",
        "subscribers",
        [person("x", store="other"), person("x", email_consent="unsubscribed")],
        [],
    ),
    # new: created in the last 30 days.
    case(
        "new: created exactly 30 days ago is in", "new", [person("edge", created_at=EDGE)], ["edge"]
    ),
    case("new: 1 ms before the boundary is out", "new", [person("before", created_at=at(-MS))], []),
    case(
        "new: 1 ms after the boundary is in", "new", [person("after", created_at=at(MS))], ["after"]
    ),
    case(
        "new: created today is in", "new", [person("today", created_at=isoformat(NOW))], ["today"]
    ),
    case(
        "new: created in the future (a skewed clock) is in",
        "new",
        [person("future", created_at=isoformat(NOW + timedelta(days=1)))],
        ["future"],
    ),
    case("new: no creation time is not new", "new", [person("undated", created_at=None)], []),
    case(
        "new: consent does not matter",
        "new",
        [person("n", created_at=isoformat(NOW), email_consent="unsubscribed")],
        ["n"],
    ),
    case("new: long-standing customers are out", "new", [person("old")], []),
    # returning: two or more orders of the store.
    case(
        "returning: two orders",
        "returning",
        [person("r"), order("o1", "r"), order("o2", "r")],
        ["r"],
    ),
    case("returning: one order is not enough", "returning", [person("r"), order("o1", "r")], []),
    case(
        "returning: three orders",
        "returning",
        [person("r"), *(order(f"o{i}", "r") for i in range(3))],
        ["r"],
    ),
    case(
        "returning: any status counts, a cancelled order too",
        "returning",
        [person("r"), order("o1", "r"), order("o2", "r", status="cancelled")],
        ["r"],
    ),
    case(
        "returning: an order at another store does not count",
        "returning",
        [person("r"), order("o1", "r"), order("o2", "r", store="other")],
        [],
    ),
    case(
        "returning: guest orders (email only, no customer id) do not count",
        "returning",
        [
            person("g"),
            order("o1", None, email="g@example.com"),
            order("o2", None, email="g@example.com"),
        ],
        [],
    ),
    case(
        "returning: the same order updated twice is one order",
        "returning",
        [person("r"), order("o1", "r"), order("o1", "r", status="refunded")],
        [],
    ),
    case(
        "returning: orders of someone else do not count",
        "returning",
        [person("r"), person("s"), order("o1", "s"), order("o2", "s")],
        ["s"],
    ),
    # abandoned_checkout: an abandoned checkout with no order since.
    case(
        "abandoned: an abandoned checkout and no order",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a")],
        ["a"],
    ),
    case(
        "abandoned: an order after it means they bought",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a", EDGE), order("o1", "a", at(MS))],
        [],
    ),
    case(
        "abandoned: an order at the same instant counts as bought",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a", EDGE), order("o1", "a", EDGE)],
        [],
    ),
    case(
        "abandoned: an order only before it does not",
        "abandoned_checkout",
        [person("a"), order("o1", "a", at(-MS)), abandoned("e1", "a", EDGE)],
        ["a"],
    ),
    case(
        "abandoned: an undated order does not count as after",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a"), order("o1", "a", None)],
        ["a"],
    ),
    case(
        "abandoned: abandoned again after the last order",
        "abandoned_checkout",
        [
            person("a"),
            abandoned("e1", "a", EDGE),
            order("o1", "a", at(MS)),
            abandoned("e2", "a", at(2 * MS)),
        ],
        ["a"],
    ),
    case(
        "abandoned: a cancelled order after it still counts as bought",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a", EDGE), order("o1", "a", at(MS), status="cancelled")],
        [],
    ),
    case(
        "abandoned: another event type is not an abandoned checkout",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a", kind="checkout.started")],
        [],
    ),
    case(
        "abandoned: the event's customer id must match, an email alone does not",
        "abandoned_checkout",
        [person("a"), abandoned("e1", None, email="a@example.com")],
        [],
    ),
    case(
        "abandoned: an event at another store does not count",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a", store="other")],
        [],
    ),
    case(
        "abandoned: an order at another store does not cancel it",
        "abandoned_checkout",
        [person("a"), abandoned("e1", "a", EDGE), order("o1", "a", at(MS), store="other")],
        ["a"],
    ),
    case(
        "abandoned: unsubscribed customers are in (the mapping filters them)",
        "abandoned_checkout",
        [person("a", email_consent="unsubscribed"), abandoned("e1", "a")],
        ["a"],
    ),
]


@pytest.mark.parametrize(("segment", "records", "expected"), CASES)
async def test_segment_members(
    tmp_path: Path, segment: str, records: list[Record], expected: list[str]
) -> None:
    db = await stored(tmp_path, records)
    try:
        assert await members(db, segment) == expected
        # The capacity check and the progress count use the same fragment.
        assert await rows.candidates(db, "demo", segment, sync_id=0, new_since=NEW_SINCE) == len(
            expected
        )
        assert await rows.to_scan(
            db, 0, "demo", segment, after=0, upto=10**9, new_since=NEW_SINCE
        ) == len(expected)
    finally:
        await db.close()


def test_every_segment_has_cases() -> None:
    assert {c.values[0] for c in CASES} == set(SEGMENTS) == set(rows.SEGMENT_SQL)


async def test_a_scan_pages_by_seq_within_its_window(tmp_path: Path) -> None:
    db = await stored(tmp_path, [person(f"c{i}") for i in range(1, 8)])  # seq 1..7
    try:
        page = await rows.scan(db, "demo", "all", after=2, upto=6, limit=3, new_since=NEW_SINCE)
        assert [(c.id, seq) for c, seq, _ in page] == [("c3", 3), ("c4", 4), ("c5", 5)]
        rest = await rows.scan(db, "demo", "all", after=5, upto=6, limit=3, new_since=NEW_SINCE)
        assert [c.id for c, _, _ in rest] == ["c6"]
    finally:
        await db.close()


async def test_the_later_id_of_an_address_is_the_duplicate(tmp_path: Path) -> None:
    db = await stored(
        tmp_path,
        [
            person("b", email="Ann@Example.com"),
            person("a", email="ann@example.com"),
            person("c", email="ann@example.com", store="other"),
            person("d", email=None),
            person("e", email=None),
        ],
    )
    try:
        found = await rows.scan(
            db, "demo", "all", after=0, upto=10**9, limit=100, new_since=NEW_SINCE
        )
        assert {c.id: dup for c, _, dup in found} == {
            "b": True,  # "a" < "b" has the same address, letters' case aside
            "a": False,
            "d": False,
            "e": False,
        }  # no address is nobody's duplicate
        other = await rows.scan(
            db, "other", "all", after=0, upto=10**9, limit=100, new_since=NEW_SINCE
        )
        assert [(c.id, dup) for c, _, dup in other] == [("c", False)]
    finally:
        await db.close()
