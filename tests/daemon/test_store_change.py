"""What a store's customer row means for consent, by table: `store_change` and `_span`.

`decide` has its table in test_consent_rules.py; the step before it had none. The inbox
processor calls `store_change` for every customer row it applies, with the (state, time)
the table held before, and files the answer as a consent event: a wrong answer here
either invents a consent change (an opt-out sent that nobody made) or loses one (an
opt-out never sent). `_span` words the opt-out guard's reason in the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from patchbayd.engine.consent import _span, store_change

CREATED = "2026-11-22T10:00:00.000Z"
UPDATED = "2026-11-22T12:00:00.000Z"
T1 = "2026-11-22T10:05:00.000Z"
T2 = "2026-11-22T11:00:00.000Z"

Previous = tuple[str | None, str | None] | None
Result = tuple[str, str | None, str | None] | None


def case(name: str, *values: Any) -> Any:
    return pytest.param(*values, id=name)


CASES = [  # (previous, state, consent time) -> (source, state, event time) or None
    # A customer the table did not hold: registration, or an opt-in at registration.
    case(
        "new and subscribed: a store opt-in dated by its consent time",
        None,
        "subscribed",
        T1,
        ("store", "subscribed", T1),
    ),
    case(
        "new and subscribed without a consent time: dated by creation",
        None,
        "subscribed",
        None,
        ("store", "subscribed", CREATED),
    ),
    case(
        "new without consent: a registration (rule a), dated by creation",
        None,
        None,
        None,
        ("registration", None, CREATED),
    ),
    case(
        "new and not subscribed: a registration",
        None,
        "not_subscribed",
        T1,
        ("registration", None, CREATED),
    ),
    case(
        "new and already unsubscribed: a registration, never an opt-out",
        None,
        "unsubscribed",
        T1,
        ("registration", None, CREATED),
    ),
    # A customer the table held: only a difference is a change.
    case("the same state and time again: nothing", ("subscribed", T1), "subscribed", T1, None),
    case("the same undated state again: nothing", ("subscribed", None), "subscribed", None, None),
    case(
        "no consent in the update: nothing, whatever was held", ("subscribed", T1), None, None, None
    ),
    case("no consent in the update, even with a time: nothing", ("subscribed", T1), None, T2, None),
    case(
        "an opt-out: a store change dated by its consent time",
        ("subscribed", T1),
        "unsubscribed",
        T2,
        ("store", "unsubscribed", T2),
    ),
    case(
        "an opt-out without a consent time: dated by the row's update",
        ("subscribed", T1),
        "unsubscribed",
        None,
        ("store", "unsubscribed", UPDATED),
    ),
    case(
        "an opt-in after an opt-out",
        ("unsubscribed", T1),
        "subscribed",
        T2,
        ("store", "subscribed", T2),
    ),
    case(
        "the same state re-dated is a change (decide calls it a duplicate)",
        ("subscribed", T1),
        "subscribed",
        T2,
        ("store", "subscribed", T2),
    ),
    case(
        "the same state losing its time is a change, dated by the update",
        ("subscribed", T1),
        "subscribed",
        None,
        ("store", "subscribed", UPDATED),
    ),
    case(
        "a first consent for a known customer",
        (None, None),
        "subscribed",
        T2,
        ("store", "subscribed", T2),
    ),
    case(
        "not subscribed after subscribed (decide ignores it: no opt-out)",
        ("subscribed", T1),
        "not_subscribed",
        T2,
        ("store", "not_subscribed", T2),
    ),
    case(
        "an older consent time is still passed on (decide judges it stale)",
        ("unsubscribed", T2),
        "subscribed",
        T1,
        ("store", "subscribed", T1),
    ),
]


@pytest.mark.parametrize(("previous", "state", "at", "expected"), CASES)
def test_store_change(
    previous: Previous, state: str | None, at: str | None, expected: Result
) -> None:
    assert store_change(previous, state, at, CREATED, UPDATED) == expected


@pytest.mark.parametrize(
    ("previous", "state", "created_at", "updated_at", "expected"),
    [
        case(
            "a registration without a creation time is undated",
            None,
            None,
            None,
            UPDATED,
            ("registration", None, None),
        ),
        case(
            "an undated opt-in at registration without a creation time is undated",
            None,
            "subscribed",
            None,
            UPDATED,
            ("store", "subscribed", None),
        ),
        case(
            "an undated opt-out on a row without an update time is undated",
            ("subscribed", T1),
            "unsubscribed",
            CREATED,
            None,
            ("store", "unsubscribed", None),
        ),
    ],
)
def test_store_change_without_row_times(
    previous: Previous,
    state: str | None,
    created_at: str | None,
    updated_at: str | None,
    expected: Result,
) -> None:
    assert store_change(previous, state, None, created_at, updated_at) == expected


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        case("zero", timedelta(0), "0:00"),
        case("under a second is cut, not rounded", timedelta(milliseconds=999), "0:00"),
        case("seconds", timedelta(seconds=59), "0:59"),
        case("a minute", timedelta(minutes=1), "1:00"),
        case("the guard's edge", timedelta(minutes=14, seconds=59), "14:59"),
        case("over an hour stays in minutes", timedelta(hours=2, seconds=5), "120:05"),
        case("before registration", timedelta(minutes=-5), "-5:00"),
        case("a second before", timedelta(seconds=-1), "-0:01"),
    ],
)
def test_span(delta: timedelta, shown: str) -> None:
    assert _span(delta) == shown
