"""The pure checks that keep hostile values out: tables of cases, each naming the field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from patchbayd.clock import FakeClock, normalize_time
from patchbayd.db import Database
from patchbayd.db.inbox import Incoming
from patchbayd.engine.mapping import email_problem, ineligible, unsendable
from patchbayd.intake.jsondoc import Malformed, loads
from patchbayd.intake.push import validate_push
from patchbayd.intake.shopify import validate as validate_shopify
from patchbayd.intake.writer import InboxWriter
from patchbayd.log import Sampler, clean
from patchbayd.providers.base import Contact

REFUSED_DOCUMENTS = [  # raw JSON -> words the refusal must carry
    ('{"a": NaN}', "a: NaN"),
    ('{"a": {"b": [1, Infinity]}}', "a.b[1]: Infinity"),
    ('{"a": -Infinity}', "a: -Infinity"),
    ('{"a": 1e400}', "a: 1e400 is out of range"),
    ('{"a": ' + "1" * 65 + "}", "a: integer of 65 digits"),
    ('{"a": ' + "1" * 5000 + "}", "a: integer of 5000 digits"),
    ("[" * 5000 + "]" * 5000, "nested"),
    ("[" * 40 + "]" * 40, "nested more than 32"),
    ('{"e": "\\ud800@x.com"}', "e: contains a lone surrogate"),
    ('{"\\udfff": 1}', "a key contains a lone surrogate"),
    ('{"a": 1', "not valid JSON"),
    ("", "not valid JSON"),
    (b"\xff\xfe".decode("latin-1"), "not valid JSON"),
]


@pytest.mark.parametrize(("raw", "words"), REFUSED_DOCUMENTS)
def test_documents_that_could_not_be_stored_are_refused(raw: str, words: str) -> None:
    with pytest.raises(Malformed) as caught:
        loads(raw.encode("utf-8", "surrogatepass"))
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": 1.5, "b": [1, -2, "x"], "c": null}',
        '{"a": ' + "9" * 64 + "}",
        '"\\ud83d\\ude00"',
        "[" * 32 + "]" * 32,
    ],
)
def test_plain_json_passes(raw: str) -> None:
    loads(raw)


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("0001-01-01T00:00:00+01:00", None),  # no UTC form: refused, not an OverflowError
        ("9999-12-31T23:59:59-01:00", None),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("2026-11-22T12:00:00+02:00", "2026-11-22T10:00:00.000Z"),
        ("2026-11-22", "2026-11-22T00:00:00.000Z"),
        ("yesterday", None),
    ],
)
def test_times_at_the_edge_of_the_calendar(value: str, normal: str | None) -> None:
    assert normalize_time(value) == normal


SHOPIFY_REFUSED = [
    ({"id": 1, "email": ["x@example.com"]}, "email: expected a string"),
    ({"id": 1, "first_name": {"a": 1}}, "first_name: expected a string"),
    ({"id": 1, "created_at": "0001-01-01T00:00:00+01:00"}, "created_at: expected an ISO"),
    ({"id": 1, "updated_at": 12}, "updated_at: expected an ISO"),
    ({"id": 1, "email_marketing_consent": "yes"}, "email_marketing_consent: expected an obj"),
    ({"id": 1, "email_marketing_consent": {"state": "maybe"}}, "email_marketing_consent.state"),
    ({"id": 1, "tags": [1, 2]}, "tags"),
    ({"email": "x@example.com"}, "id: required"),
    ({"id": [1]}, "id: expected a string"),
]


@pytest.mark.parametrize(("body", "words"), SHOPIFY_REFUSED)
def test_signed_shopify_customers_are_type_checked(body: dict[str, object], words: str) -> None:
    with pytest.raises(Malformed) as caught:
        validate_shopify("customers/update", body)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"id": 1, "line_items": "tea"}, "line_items"),
        ({"id": 1, "customer": [1]}, "customer: expected an object"),
        ({"id": 1, "updated_at": "soon"}, "updated_at"),
        ({"id": 1, "total_price": {"amount": 1}}, "total_price"),
    ],
)
def test_signed_shopify_orders_are_type_checked(body: dict[str, object], words: str) -> None:
    with pytest.raises(Malformed) as caught:
        validate_shopify("orders/paid", body)
    assert words in str(caught.value)


def test_a_push_order_carries_its_update_time() -> None:
    found = validate_push(
        "demo", "orders", {"id": "o1", "status": "paid", "updated_at": "2026-11-22T10:00:00+01:00"}
    )
    assert found[0]["updated_at"] == "2026-11-22T10:00:00+01:00"
    with pytest.raises(Malformed, match="updated_at"):
        validate_push("demo", "orders", {"id": "o1", "status": "paid", "updated_at": "x"})


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ("ann@example.com", None),
        ("info@example.com", "role_address"),
        ("a" * 64 + "@example.com", None),
        ("a" * 65 + "@example.com", "invalid_address"),
        ("a@" + ".".join(c * 60 for c in "bcdef") + ".com", "invalid_address"),  # over 254 in all
        ("a\x00b@example.com", "invalid_address"),
        ("@example.com", "invalid_address"),
        ("a b@example.com", "invalid_address"),
        ("x@localhost", "invalid_address"),
        (None, "invalid_address"),
    ],
)
def test_one_address_rule(email: str | None, problem: str | None) -> None:
    assert email_problem(email) == problem


def test_a_contact_with_a_non_finite_number_is_unsendable() -> None:
    assert unsendable(Contact(email="a@b.co", properties={"points": 3})) is None
    reason = unsendable(Contact(email="a@b.co", properties={"points": math.nan}))
    assert reason is not None and "points" in reason


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("\x1b[2Jwiped", "\\x1b[2Jwiped"),
        ("\x7f\x9b", "\\x7f\\x9b"),
        ("rtl\u202eexe.txt", "rtl\\u202eexe.txt"),
        ("lone \ud800", "lone \\ud800"),
        ("zażółć", "zażółć"),
    ],
)
def test_logged_values_have_control_characters_escaped(text: str, shown: str) -> None:
    assert clean(text) == shown


def test_logged_values_are_bounded() -> None:
    shown = clean("x" * 20_000)
    assert len(shown) < 300 and shown.endswith("(+19760 chars)")


def test_the_sampler_lets_a_few_through_per_window_and_counts_the_rest() -> None:
    clock = FakeClock()
    sampler = Sampler(clock, per_window=2, window=10)
    assert [sampler.allow("k") for _ in range(5)] == [
        (True, 0),
        (True, 0),
        (False, 0),
        (False, 0),
        (False, 0),
    ]
    assert sampler.allow("other") == (True, 0)
    clock.advance(10)
    assert sampler.allow("k") == (True, 3)  # the next line says how many were dropped
    assert sampler.allow("k") == (True, 0)


@pytest.mark.anyio
async def test_one_bad_request_in_a_group_commit_fails_alone(tmp_path: Path) -> None:
    """49 good requests and one that cannot be stored share a commit: only it fails."""
    import anyio

    db = await Database.open(tmp_path / "state.db")
    writer = InboxWriter(db, FakeClock(), lambda: None)
    outcomes: dict[int, str] = {}

    async def send(i: int) -> None:
        email = "\ud800@x.com" if i == 25 else f"good{i}@example.com"
        row = Incoming.of(
            "demo" if i % 2 else "other",
            "customers",
            "ingest",
            {"id": str(i), "email": email},
            f"k{i}",
        )
        try:
            await writer.add([row])
            outcomes[i] = "ok"
        except Exception as exc:
            outcomes[i] = type(exc).__name__

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer.run)
        async with anyio.create_task_group() as senders:
            for i in range(50):
                senders.start_soon(send, i)
        tg.cancel_scope.cancel()
    failed = {i: kind for i, kind in outcomes.items() if kind != "ok"}
    assert failed == {25: "UnicodeEncodeError"}
    row = await db.fetchone("SELECT count(*) FROM inbox")
    assert row is not None and row[0] == 49
    await db.close()


@pytest.mark.parametrize(
    ("member", "words"),
    [
        ({"points": "lots"}, "member.points: expected a number"),
        ({"points": False}, "member.points: expected a number"),
        ({"points": ["1"]}, "member.points"),
        ({"tier": ["gold"]}, "member.tier: expected a string"),
        ({"status": {"a": 1}}, "member.status"),
        ({"paid_tier": ["plus"]}, "member.paid_tier"),
        ({"tier_expires_at": "never"}, "member.tier_expires_at"),
        ({"tier_expires_at": "0001-01-01T00:00:00+01:00"}, "member.tier_expires_at"),
        ({"tier_expires_at": True}, "member.tier_expires_at"),
    ],
)
def test_loyalty_membership_fields_are_typed(member: dict[str, object], words: str) -> None:
    with pytest.raises(Malformed) as caught:
        validate_push("demo", "customers", {"id": "c1", "email": "a@example.com", "member": member})
    assert words in str(caught.value)


def test_a_full_membership_passes() -> None:
    validate_push(
        "demo",
        "customers",
        {
            "id": "c1",
            "email": "a@example.com",
            "member": {
                "points": 120.5,
                "status": "active",
                "tier": "gold",
                "paid_tier": False,
                "tier_expires_at": "2027-06-30",
                "custom": {"any": ["thing"]},
            },
        },
    )


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ("ann@example.com", None),
        ("Ann@Example.com", None),
        ("INFO@example.com", "not eligible: role address"),
        ("a..b@example.com", "not eligible: invalid address"),
        (None, "not eligible: invalid address"),
    ],
)
def test_one_eligibility_rule_for_every_single_write(email: str | None, words: str | None) -> None:
    reason = ineligible(email)
    assert (reason is None) if words is None else (reason is not None and words in reason)
