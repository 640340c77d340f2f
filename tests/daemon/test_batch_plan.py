"""A sync batch's plan, by table: who is sent, who is settled without sending, who is
skipped, and how a dry run differs. The same plan drives real and dry runs, so these
cases are what both promise; the counts are a typed record stored as JSON."""

from __future__ import annotations

import pytest

from patchbayd.engine.mapping import SyncRules, payload_hash, to_contact
from patchbayd.engine.plan import RunCounts, plan_batch
from patchbayd.model import StoreCustomer

RULES = SyncRules()
AT = "2026-11-22T10:00:00.000Z"


def person(
    cid: str, email: str | None = None, state: str = "subscribed", **properties: object
) -> StoreCustomer:
    return StoreCustomer(
        store="s",
        id=cid,
        email=email or f"{cid}@example.com",
        created_at=AT,
        updated_at=AT,
        email_consent=state,
        email_consent_at=AT,
        properties=dict(properties),
    )


def sent_hash(customer: StoreCustomer, destination: str | None = None) -> tuple[str, str]:
    return payload_hash(to_contact(customer, RULES), destination), "sent"


NAN = float("nan")
GOOD, ROLE = person("c1"), person("c2", "info@example.com")
GONE = person("c3", state="unsubscribed")
BAD = person("c4", score=NAN)

CASES = [
    ("a new subscriber is sent", [(GOOD, 1, False)], {}, False, ["c1"], [], 0, []),
    (
        "the same payload already sent is unchanged",
        [(GOOD, 1, False)],
        {"c1": sent_hash(GOOD)},
        False,
        [],
        [],
        1,
        [],
    ),
    (
        "a changed payload is sent again",
        [(GOOD, 1, False)],
        {"c1": sent_hash(person("c1", note="old"))},
        False,
        ["c1"],
        [],
        0,
        [],
    ),
    (
        "a payload that failed last time is sent again",
        [(GOOD, 1, False)],
        {"c1": (sent_hash(GOOD)[0], "failed")},
        False,
        ["c1"],
        [],
        0,
        [],
    ),
    (
        "a role address is filtered, with no ledger row if it never had one",
        [(ROLE, 1, False)],
        {},
        False,
        [],
        [],
        0,
        ["role_address"],
    ),
    (
        "a filtered customer with a ledger row leaves the failed list",
        [(GONE, 1, False)],
        {"c3": ("x", "failed")},
        False,
        [],
        [("c3", None, "filtered", "unsubscribed")],
        0,
        ["unsubscribed"],
    ),
    ("a duplicate address is filtered", [(GOOD, 1, True)], {}, False, [], [], 0, ["duplicate"]),
    (
        "a value JSON cannot carry fails alone in a real run",
        [(BAD, 1, False), (GOOD, 2, False)],
        {},
        False,
        ["c1"],
        [("c4", None, "failed", "property score: not a value JSON can carry (NaN or Infinity?)")],
        0,
        [],
    ),
    ("a dry run counts it as would-send", [(BAD, 1, False)], {}, True, ["c4"], [], 0, []),
    (
        "the destination is part of the hash",
        [(GOOD, 1, False)],
        {"c1": sent_hash(GOOD, "list-a")},
        False,
        ["c1"],
        [],
        0,
        [],
    ),
]


@pytest.mark.parametrize(
    ("batch", "previous", "dry", "send", "settled", "unchanged", "filtered"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan_batch(
    batch: list,
    previous: dict,
    dry: bool,
    send: list[str],
    settled: list[tuple],
    unchanged: int,
    filtered: list[str],
) -> None:
    plan = plan_batch(batch, previous, RULES, None, dry=dry)
    assert [p.customer_id for p in plan.send] == send
    assert plan.settled == settled
    assert plan.unchanged == unchanged
    assert [s.reason for s in plan.filtered] == filtered
    assert plan.scanned == len(batch)


def test_counts_absorb_a_plan() -> None:
    counts = RunCounts()
    counts.absorb(
        plan_batch(
            [(GOOD, 1, False), (ROLE, 2, False), (ROLE, 3, True), (BAD, 4, False)],
            {},
            RULES,
            None,
            dry=False,
        )
    )
    assert (counts.scanned, counts.failed, counts.unchanged) == (4, 1, 0)
    assert counts.filtered["role_address"] == 2 and counts.filtered["duplicate"] == 0


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, {}),
        ({"scanned": 3, "sent": 2, "filtered": {"duplicate": 1}}, {"scanned": 3, "sent": 2}),
        ({"scanned": 1, "an_old_key": 9, "total": 10, "rate": 2.5}, {"total": 10, "rate": 2.5}),
    ],
    ids=["nothing stored", "a partial record", "an older daemon's extra key"],
)
def test_counts_round_trip_through_json(stored: dict | None, expected: dict) -> None:
    counts = RunCounts.from_dict(stored)
    shown = counts.as_dict()
    assert {k: shown[k] for k in expected} == expected
    assert set(shown["filtered"]) >= {"invalid_address", "role_address", "duplicate"}
    assert "would_send" not in shown and "refused" not in shown  # unset: left out
    assert RunCounts.from_dict(shown) == counts
