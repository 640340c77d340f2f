"""The sync's mapping rules, by tables: what is sent, what is not, and why.

`engine/mapping.py` promises "every rule has a table-driven test", but until now only
the address rule (`email_problem`, in test_hostile_values.py) had one. These tables pin
the rest: the order in which a customer is excluded, the Contact a customer maps to,
the `--map` and `--tags` parsers, and the payload hash that decides whether a contact is
sent again. A case that fails today because of a bug in the source is marked
`xfail(strict=True)` with the bug in its reason, so it turns red when fixed (the four found
when these tables were written are fixed).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from patchbayd.engine.mapping import (
    MappingError,
    SyncRules,
    email_problem,
    exclusion,
    ineligible,
    parse_mapping,
    parse_tags,
    payload_hash,
    to_contact,
    unsendable,
)
from patchbayd.model import StoreCustomer
from patchbayd.providers.base import Consent, Contact

ACQUIRED = "2026-06-01T00:00:00.000Z"
JUNE_1 = datetime(2026, 6, 1, tzinfo=UTC)
JULY_1 = datetime(2026, 7, 1, tzinfo=UTC)


def customer(**changes: Any) -> StoreCustomer:
    """A subscribed customer with a good address, acquired on 1 June: sent by default."""
    base = StoreCustomer(
        store="demo",
        id="c1",
        email="ann@example.com",
        created_at=ACQUIRED,
        email_consent="subscribed",
    )
    return replace(base, **changes)


def case(name: str, *values: Any, marks: Any = ()) -> Any:
    return pytest.param(*values, id=name, marks=marks)


# -- exclusion ---------------------------------------------------------------------------

RANGE = SyncRules(acquired_since=JUNE_1, acquired_until=JULY_1)
OPTED_OUT_TOO = SyncRules(export_opted_out=True)

EXCLUSIONS = [  # (customer, rules, duplicate) -> reason or None
    case("subscribed with a good address is sent", customer(), SyncRules(), False, None),
    case("no email at all", customer(email=None), SyncRules(), False, "invalid_address"),
    case(
        "phone-only customer has no address to send",
        customer(email=None, phone="+48600100200"),
        SyncRules(),
        False,
        "invalid_address",
    ),
    case("malformed address", customer(email="ann@"), SyncRules(), False, "invalid_address"),
    case("role address", customer(email="support@example.com"), SyncRules(), False, "role_address"),
    case(
        "an invalid address is named before being a duplicate",
        customer(email="nope"),
        SyncRules(),
        True,
        "invalid_address",
    ),
    case(
        "a role address is named before being a duplicate",
        customer(email="info@example.com"),
        SyncRules(),
        True,
        "role_address",
    ),
    case("duplicate", customer(), SyncRules(), True, "duplicate"),
    case(
        "a duplicate is named before its consent",
        customer(email_consent="unsubscribed"),
        SyncRules(),
        True,
        "duplicate",
    ),
    case(
        "unsubscribed", customer(email_consent="unsubscribed"), SyncRules(), False, "unsubscribed"
    ),
    case(
        "not subscribed",
        customer(email_consent="not_subscribed"),
        SyncRules(),
        False,
        "not_subscribed",
    ),
    case(
        "no consent recorded counts as not subscribed",
        customer(email_consent=None),
        SyncRules(),
        False,
        "not_subscribed",
    ),
    case(
        "an unknown consent state counts as not subscribed",
        customer(email_consent="pending"),
        SyncRules(),
        False,
        "not_subscribed",
    ),
    case(
        "sms consent alone is not email consent",
        customer(email_consent=None, sms_consent="subscribed"),
        SyncRules(),
        False,
        "not_subscribed",
    ),
    case(
        "export_opted_out sends the unsubscribed",
        customer(email_consent="unsubscribed"),
        OPTED_OUT_TOO,
        False,
        None,
    ),
    case(
        "export_opted_out sends the never subscribed",
        customer(email_consent=None),
        OPTED_OUT_TOO,
        False,
        None,
    ),
    case(
        "export_opted_out still drops an invalid address",
        customer(email="x"),
        OPTED_OUT_TOO,
        False,
        "invalid_address",
    ),
    case("export_opted_out still drops a duplicate", customer(), OPTED_OUT_TOO, True, "duplicate"),
    case(
        "consent is judged before the acquisition range",
        customer(email_consent="unsubscribed", created_at="2020-01-01T00:00:00Z"),
        RANGE,
        False,
        "unsubscribed",
    ),
    case("acquired exactly at acquired_since is in", customer(), RANGE, False, None),
    case(
        "acquired 1 ms before acquired_since is out",
        customer(created_at="2026-05-31T23:59:59.999Z"),
        RANGE,
        False,
        "outside_acquisition_range",
    ),
    case(
        "acquired exactly at acquired_until is in",
        customer(created_at="2026-07-01T00:00:00.000Z"),
        RANGE,
        False,
        None,
    ),
    case(
        "acquired 1 ms after acquired_until is out",
        customer(created_at="2026-07-01T00:00:00.001Z"),
        RANGE,
        False,
        "outside_acquisition_range",
    ),
    case(
        "an offset acquisition time is compared in UTC (23:00Z on 31 May)",
        customer(created_at="2026-06-01T01:00:00+02:00"),
        RANGE,
        False,
        "outside_acquisition_range",
    ),
    case(
        "a range and no acquisition time: out",
        customer(created_at=None),
        RANGE,
        False,
        "outside_acquisition_range",
    ),
    case(
        "a range and an unreadable acquisition time: out",
        customer(created_at="last tuesday"),
        RANGE,
        False,
        "outside_acquisition_range",
    ),
    case(
        "no range: no acquisition time is fine", customer(created_at=None), SyncRules(), False, None
    ),
    case(
        "only acquired_since: a late customer is in",
        customer(created_at="2030-01-01T00:00:00Z"),
        SyncRules(acquired_since=JUNE_1),
        False,
        None,
    ),
    case(
        "only acquired_until: an early customer is in",
        customer(created_at="2001-01-01T00:00:00Z"),
        SyncRules(acquired_until=JULY_1),
        False,
        None,
    ),
    case(
        "only acquired_until: a late customer is out",
        customer(created_at="2030-01-01T00:00:00Z"),
        SyncRules(acquired_until=JULY_1),
        False,
        "outside_acquisition_range",
    ),
]


@pytest.mark.parametrize(("person", "rules", "duplicate", "reason"), EXCLUSIONS)
def test_exclusion(
    person: StoreCustomer, rules: SyncRules, duplicate: bool, reason: str | None
) -> None:
    assert exclusion(person, rules, duplicate=duplicate) == reason


# -- to_contact --------------------------------------------------------------------------

MEMBER = {
    "points": 120,
    "status": "active",
    "tier": "gold",
    "paid_tier": False,
    "tier_expires_at": "2027-06-30",
}
DEFAULT_SENT = {
    "points": 120,
    "member_status": "active",
    "tier": "gold",
    "paid_tier": False,
    "tier_expires_at": "2027-06-30",
    "acquired_at": ACQUIRED,
}


def sent(**fields: Any) -> Contact:
    """The Contact of `customer()`: its address, its id, its subscription (undated)."""
    base: dict[str, Any] = {
        "email": "ann@example.com",
        "external_id": "c1",
        "email_consent": Consent("subscribed", None),
    }
    return Contact(**{**base, **fields})


CONTACTS = [  # (customer, rules) -> the Contact sent
    case(
        "the default mapping sends membership and acquisition as properties",
        customer(
            email="Ann@Example.COM",
            phone="+48600100200",
            first_name="Ann",
            last_name="Nowak",
            member=MEMBER,
        ),
        SyncRules(),
        sent(phone="+48600100200", first_name="Ann", last_name="Nowak", properties=DEFAULT_SENT),
    ),
    case(
        "member fields that are absent or null are left out",
        customer(member={"points": None, "tier": "silver"}, created_at=None),
        SyncRules(),
        sent(properties={"tier": "silver"}),
    ),
    case(
        "member fields outside the default mapping are not sent",
        customer(member={"custom": {"any": 1}}, created_at=None),
        SyncRules(),
        sent(),
    ),
    case(
        "consent goes out with its time, read as UTC",
        customer(
            email_consent_at="2026-06-02T12:00:00+02:00",
            sms_consent="unsubscribed",
            created_at=None,
        ),
        SyncRules(),
        sent(
            email_consent=Consent("subscribed", datetime(2026, 6, 2, 10, tzinfo=UTC)),
            sms_consent=Consent("unsubscribed", None),
        ),
    ),
    case(
        "an unknown consent state is not sent at all",
        customer(email_consent="pending", email_consent_at=ACQUIRED, created_at=None),
        SyncRules(),
        sent(email_consent=None),
    ),
    case(
        "the customer's tags then the sync's, each once, in order",
        customer(tags=["vip", "gold"], created_at=None),
        SyncRules(tags=("gold", "sync")),
        sent(tags=("vip", "gold", "sync")),
    ),
    case(
        "store properties pass through under their own names",
        customer(properties={"colour": "teal", "size": None}, created_at=None),
        SyncRules(),
        sent(properties={"colour": "teal"}),
    ),
    case(
        "--map renames a default property",
        customer(member={"points": 7}, created_at=None),
        SyncRules(mapping={"member.points": "loyalty_points"}),
        sent(properties={"loyalty_points": 7}),
    ),
    case(
        "--map to nothing drops a default property",
        customer(),
        SyncRules(mapping={"created_at": ""}),
        sent(),
    ),
    case(
        "--map renames a store property",
        customer(properties={"colour": "teal"}, created_at=None),
        SyncRules(mapping={"properties.colour": "color"}),
        sent(properties={"color": "teal"}),
    ),
    case(
        "--map adds a core field as a property as well",
        customer(phone="+48600100200", created_at=None),
        SyncRules(mapping={"phone": "mobile"}),
        sent(phone="+48600100200", properties={"mobile": "+48600100200"}),
    ),
    case(
        "a customer without an email keeps none",
        customer(email=None, phone="+48600100200", created_at=None),
        SyncRules(),
        sent(email=None, phone="+48600100200"),
    ),
]


@pytest.mark.parametrize(("person", "rules", "expected"), CONTACTS)
def test_to_contact(person: StoreCustomer, rules: SyncRules, expected: Contact) -> None:
    assert to_contact(person, rules) == expected


# -- parse_mapping and parse_tags ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        case("nothing", [], {}),
        case(
            "rename a member field",
            ["member.points=loyalty_points"],
            {"member.points": "loyalty_points"},
        ),
        case(
            "spaces around either side are trimmed",
            [" member.tier = level "],
            {"member.tier": "level"},
        ),
        case("a store property", ["properties.colour=colour"], {"properties.colour": "colour"}),
        case("an empty destination drops the field", ["created_at="], {"created_at": ""}),
        case("a core field", ["email=email_address"], {"email": "email_address"}),
        case(
            "dots and dashes in a destination",
            ["member.tier=custom.tier-name"],
            {"member.tier": "custom.tier-name"},
        ),
        case(
            "the same source twice: the last wins",
            ["member.tier=a", "member.tier=b"],
            {"member.tier": "b"},
        ),
        case("a 64-character destination", ["member.tier=" + "a" * 64], {"member.tier": "a" * 64}),
    ],
)
def test_parse_mapping(pairs: list[str], expected: dict[str, str]) -> None:
    assert parse_mapping(pairs) == expected


@pytest.mark.parametrize(
    ("pairs", "words"),
    [
        case("no equals sign", ["member.points"], "--map takes store_field=dest_field"),
        case("no source", ["=points"], "--map takes store_field=dest_field"),
        case("an unknown member field", ["member.colour=x"], "unknown store field 'member.colour'"),
        case("a destination name used as a source", ["points=x"], "unknown store field 'points'"),
        case("a destination starting with a digit", ["member.points=1st"], "must be a plain name"),
        case("a destination with a space", ["member.points=has space"], "must be a plain name"),
        case("a 65-character destination", ["member.points=" + "a" * 65], "must be a plain name"),
        case("two equals signs", ["member.points=a=b"], "must be a plain name"),
        case("the second pair is checked too", ["member.tier=t", "bogus=x"], "'bogus'"),
        case("a store property without a name", ["properties.=x"], "unknown store field"),
    ],
)
def test_parse_mapping_refuses(pairs: list[str], words: str) -> None:
    with pytest.raises(MappingError, match=words.replace(".", r"\.")):
        parse_mapping(pairs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        case("none given", None, ()),
        case("empty", "", ()),
        case("one", "vip", ("vip",)),
        case("two", "vip,gold", ("vip", "gold")),
        case("a repeat is kept (to_contact removes it)", "vip,vip", ("vip", "vip")),
        case("punctuation and non-ASCII", "tier:gold,zażółć", ("tier:gold", "zażółć")),
    ],
)
def test_parse_tags(text: str | None, expected: tuple[str, ...]) -> None:
    assert parse_tags(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        case("a space after the comma", "vip, gold", "' gold' is not a tag"),
        case("a space inside a tag", "big spender", "'big spender' is not a tag"),
        case("a tab", "vip\tgold", "is not a tag"),
        case("only spaces", "  ", "'  ' is not a tag"),
        case("an empty entry in the middle", "vip,,gold", "no empty entries"),
        case("a trailing comma", "vip,", "no empty entries"),
        case("a leading comma", ",vip", "no empty entries"),
    ],
)
def test_parse_tags_refuses(text: str, words: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_tags(text)
    assert words in str(caught.value)


# -- email_problem, ineligible, unsendable (cases not in test_hostile_values.py) ----------


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        case("empty string", "", "invalid_address"),
        case("role prefix in capitals", "PostMaster@Example.com", "role_address"),
        case("no-reply is a role", "no-reply@example.com", "role_address"),
        case("a role prefix with a plus tag is a person", "info+orders@example.com", None),
        case("a role word inside a longer name is a person", "infoann@example.com", None),
        case("double dot in the domain", "ann@example..com", "invalid_address"),
        case("trailing dot on the domain", "ann@example.com.", "invalid_address"),
        case("a domain label starting with a hyphen", "ann@-example.com", "invalid_address"),
        case("a 63-character domain label", "ann@" + "d" * 63 + ".com", None),
        case("a 64-character domain label", "ann@" + "d" * 64 + ".com", "invalid_address"),
        case("two @", "ann@b@example.com", "invalid_address"),
        case("plus and apostrophe in the local part", "o'brien+x@example.com", None),
        case("a local part starting with a dot", ".ann@example.com", "invalid_address"),
        case("a local part ending with a dot", "ann.@example.com", "invalid_address"),
    ],
)
def test_email_problem_more_edges(email: str, problem: str | None) -> None:
    assert email_problem(email) == problem


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        case(
            "role",
            "info@example.com",
            "not eligible: role address (a sync would not send it either)",
        ),
        case("invalid", "ann@", "not eligible: invalid address (a sync would not send it either)"),
        case("empty", "", "not eligible: invalid address (a sync would not send it either)"),
        case("fine", "ann@example.com", None),
    ],
)
def test_ineligible_wording(email: str, reason: str | None) -> None:
    assert ineligible(email) == reason


@pytest.mark.parametrize(
    ("properties", "bad"),
    [
        case("plain values", {"points": 3, "tier": "gold", "x": [1, {"a": None}]}, None),
        case("infinity", {"points": math.inf}, "points"),
        case("minus infinity", {"points": -math.inf}, "points"),
        case("NaN inside a list", {"history": [1, math.nan]}, "history"),
        case("NaN inside an object", {"custom": {"score": math.nan}}, "custom"),
        case("not a JSON type at all", {"seen": {1, 2}}, "seen"),
    ],
)
def test_unsendable(properties: dict[str, Any], bad: str | None) -> None:
    reason = unsendable(Contact(email="a@example.com", properties=properties))
    if bad is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(f"property {bad}:")


# -- payload_hash ------------------------------------------------------------------------

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
BASE = Contact(
    email="ann@example.com",
    phone="+48600100200",
    external_id="c1",
    first_name="Ann",
    last_name="Nowak",
    email_consent=Consent("subscribed", AT),
    sms_consent=None,
    tags=("vip",),
    properties={"points": 120, "tier": "gold", "custom": {"a": 1, "b": [1, 2]}},
)


@pytest.mark.parametrize(
    ("changed", "destination"),
    [
        case("email", replace(BASE, email="bob@example.com"), None),
        case("phone", replace(BASE, phone=None), None),
        case("external id", replace(BASE, external_id="c2"), None),
        case("first name", replace(BASE, first_name="Anna"), None),
        case("last name", replace(BASE, last_name=None), None),
        case("names swapped", replace(BASE, first_name="Nowak", last_name="Ann"), None),
        case("email consent state", replace(BASE, email_consent=Consent("unsubscribed", AT)), None),
        case("email consent time", replace(BASE, email_consent=Consent("subscribed", None)), None),
        case("email consent gone", replace(BASE, email_consent=None), None),
        case("sms consent added", replace(BASE, sms_consent=Consent("subscribed", None)), None),
        case(
            "consent moved from email to sms",
            replace(BASE, email_consent=None, sms_consent=Consent("subscribed", AT)),
            None,
        ),
        case("a tag added", replace(BASE, tags=("vip", "gold")), None),
        case("tags reordered", replace(BASE, tags=("gold", "vip")), None),
        case(
            "a property value", replace(BASE, properties={**BASE.properties, "points": 121}), None
        ),
        case(
            "a number sent as text instead",
            replace(BASE, properties={**BASE.properties, "points": "120"}),
            None,
        ),
        case(
            "a nested value",
            replace(BASE, properties={**BASE.properties, "custom": {"a": 1, "b": [2, 1]}}),
            None,
        ),
        case("a property added", replace(BASE, properties={**BASE.properties, "new": 0}), None),
        case("a property removed", replace(BASE, properties={"points": 120, "tier": "gold"}), None),
        case(
            "a property renamed",
            replace(
                BASE, properties={"loyalty": 120, "tier": "gold", "custom": {"a": 1, "b": [1, 2]}}
            ),
            None,
        ),
        case("the destination list", BASE, "list-2"),
    ],
)
def test_payload_hash_changes_with_what_is_sent(changed: Contact, destination: str | None) -> None:
    assert payload_hash(changed, destination) != payload_hash(BASE, None)


@pytest.mark.parametrize(
    "same",
    [
        case("an equal contact built again", Contact(**{**BASE.__dict__})),
        case(
            "properties in another order",
            replace(BASE, properties=dict(reversed(list(BASE.properties.items())))),
        ),
        case("tags as the same tuple rebuilt", replace(BASE, tags=tuple(["vip"]))),
        case(
            "a nested object's keys in another order",
            replace(BASE, properties={**BASE.properties, "custom": {"b": [1, 2], "a": 1}}),
        ),
    ],
)
def test_payload_hash_is_stable(same: Contact) -> None:
    assert payload_hash(same, None) == payload_hash(BASE, None)


def test_the_same_instant_written_in_another_zone_hashes_the_same() -> None:
    """to_contact reads every time as UTC, so the hash never sees the offset."""
    utc = customer(email_consent_at="2026-06-01T12:00:00Z", created_at=None)
    warsaw = customer(email_consent_at="2026-06-01T14:00:00+02:00", created_at=None)
    assert payload_hash(to_contact(utc, SyncRules()), None) == payload_hash(
        to_contact(warsaw, SyncRules()), None
    )


def test_payload_hash_is_32_hex_characters() -> None:
    digest = payload_hash(BASE, None)
    assert len(digest) == 32 and int(digest, 16) >= 0
