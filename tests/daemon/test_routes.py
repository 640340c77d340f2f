"""Routes as pure functions: tables of cases for triggers, conditions, prefixes, Liquid,
the retry schedule, picking due deliveries, and the route file's checks and round trip."""

from __future__ import annotations

import random
from importlib import resources
from typing import Any

import pytest

from patchbayd.db.outbox import Head
from patchbayd.engine import route_file
from patchbayd.engine.outbox import pick_due
from patchbayd.engine.routes import (
    RouteError,
    RouteEvent,
    check_template,
    holds,
    plan,
    render,
    retry_delay,
    trigger_matches,
    with_prefix,
)
from patchbayd.providers.registry import SPECS

PROVIDERS = tuple(SPECS)


@pytest.mark.parametrize(
    ("trigger", "event", "matches"),
    [
        ("order.paid", "order.paid", True),
        ("order.paid", "order.paid.late", False),
        ("loyalty.*", "loyalty.points_awarded", True),
        ("loyalty.*", "loyalty", False),
        ("loyalty.*", "loyaltyx.points", False),
        ("*", "anything.at_all", True),
        ("custom_thing", "custom_thing", True),
    ],
)
def test_trigger_matching(trigger: str, event: str, matches: bool) -> None:
    assert trigger_matches(trigger, event) is matches


@pytest.mark.parametrize(
    ("name", "prefix", "strip", "sent"),
    [
        ("points_expiring", "nector: ", None, "nector: points_expiring"),
        ("nector: points_expiring", "nector: ", None, "nector: points_expiring"),  # not doubled
        ("loyalty.points_expiring", None, "loyalty.", "points_expiring"),
        ("loyalty.points_expiring", "loyalty: ", "loyalty.", "loyalty: points_expiring"),
        ("other", None, "loyalty.", "other"),
    ],
)
def test_prefix_added_or_stripped(
    name: str, prefix: str | None, strip: str | None, sent: str
) -> None:
    assert with_prefix(name, prefix, strip) == sent


CONTEXT = {
    "data": {
        "points": 50,
        "total": "129.90",
        "code": "WELCOME10",
        "tags": ["vip"],
        "zero": 0,
        "none": None,
        "zip": "007",
    },
    "event": {"type": "loyalty.points_awarded"},
}


@pytest.mark.parametrize(
    ("condition", "result"),
    [
        ({"field": "data.points", "op": "eq", "value": 50}, True),
        ({"field": "data.points", "op": "eq", "value": "50"}, True),  # number vs numeric text
        ({"field": "data.zip", "op": "eq", "value": "7"}, False),  # text vs text stays text
        ({"field": "data.points", "op": "ne", "value": 49}, True),
        ({"field": "data.points", "op": "gt", "value": 49}, True),
        ({"field": "data.points", "op": "gt", "value": 50}, False),
        ({"field": "data.points", "op": "gte", "value": 50}, True),
        ({"field": "data.points", "op": "lt", "value": 51}, True),
        ({"field": "data.points", "op": "lte", "value": 49}, False),
        ({"field": "data.total", "op": "gt", "value": 100}, True),  # totals arrive as text
        ({"field": "data.code", "op": "gt", "value": 100}, False),  # text vs number: false
        ({"field": "data.points", "op": "in", "value": [10, 50]}, True),
        ({"field": "data.points", "op": "not_in", "value": [10, 50]}, False),
        ({"field": "data.code", "op": "contains", "value": "COME"}, True),
        ({"field": "data.tags", "op": "contains", "value": "vip"}, True),
        ({"field": "data.points", "op": "contains", "value": "5"}, False),  # type mismatch
        ({"field": "data.code", "op": "starts_with", "value": "WEL"}, True),
        ({"field": "data.points", "op": "starts_with", "value": "5"}, False),
        ({"field": "data.code", "op": "exists"}, True),
        ({"field": "data.missing", "op": "exists"}, False),
        ({"field": "data.none", "op": "exists"}, False),
        ({"field": "data.missing", "op": "exists", "value": False}, True),
        ({"field": "data.zero", "op": "eq", "value": 0}, True),
        ({"field": "data.missing", "op": "eq", "value": 1}, False),  # missing fails eq
        ({"field": "data.missing", "op": "ne", "value": 1}, True),  # and passes ne
        ({"field": "data.missing", "op": "not_in", "value": [1]}, True),
        ({"field": "data.missing", "op": "gt", "value": 1}, False),
        ({"field": "data.points.deeper", "op": "exists"}, False),
        (
            {
                "all": [
                    {"field": "data.points", "op": "gt", "value": 1},
                    {"field": "event.type", "op": "starts_with", "value": "loyalty."},
                ]
            },
            True,
        ),
        (
            {
                "all": [
                    {"field": "data.points", "op": "gt", "value": 1},
                    {"field": "data.code", "op": "eq", "value": "NOPE"},
                ]
            },
            False,
        ),
        (
            {
                "any": [
                    {"field": "data.code", "op": "eq", "value": "NOPE"},
                    {
                        "all": [
                            {"field": "data.points", "op": "eq", "value": 50},
                            {"field": "data.tags", "op": "contains", "value": "vip"},
                        ]
                    },
                ]
            },
            True,
        ),
        (None, True),
    ],
)
def test_conditions(condition: dict[str, Any] | None, result: bool) -> None:
    assert holds(condition, CONTEXT) is result


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"field": "x", "op": "like", "value": 1}, "op: must be one of"),
        ({"op": "eq", "value": 1}, "field: required"),
        ({"field": "x", "op": "in", "value": 1}, "in takes a list"),
        ({"field": "x", "op": "eq"}, "value: required"),
        ({"all": []}, "non-empty list"),
        ({"all": [{"field": "x", "op": "eq", "value": 1}], "field": "y"}, "alone"),
        ({"any": [{"field": "x", "op": "nope", "value": 1}]}, "any[0].op"),
        ({"field": "x", "op": "eq", "value": 1, "extra": 2}, "unknown key 'extra'"),
    ],
)
def test_bad_conditions_are_refused_with_the_place(condition: dict[str, Any], words: str) -> None:
    from patchbayd.engine.routes import check_conditions

    with pytest.raises(RouteError) as caught:
        check_conditions(condition, "conditions")
    assert words in str(caught.value)


def test_liquid_rendering_with_remove_replace_and_a_missing_variable() -> None:
    context = {"product": {"title": "Tea, green, loose"}, "data": {"points": 50}}
    assert render("{{ product.title | remove: ',' }}", context) == "Tea green loose"
    assert render("{{ product.title | replace: ', ', '/' }}", context) == "Tea/green/loose"
    assert render("{{ data.points }}", context) == 50  # a lone variable keeps its type
    assert render("{{ data.missing }}", context) is None
    assert render("[{{ data.missing }}]", context) == "[]"  # missing renders as nothing
    assert render({"a": ["{{ data.points | plus: 1 }}"]}, context) == {"a": ["51"]}


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ x | nosuchfilter }}", "unknown filter 'nosuchfilter'"),
        ("{{ x | remove: ',' ", "expected '}}'"),
        ("{% if x %}no end", "if"),
    ],
)
def test_bad_templates_are_refused(template: str, words: str) -> None:
    with pytest.raises(RouteError) as caught:
        check_template(template, "actions[0]: name")
    assert words in str(caught.value) and "actions[0]: name" in str(caught.value)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (1, 0, 2),
        (2, 0, 4),
        (3, 0, 8),
        (5, 0, 32),
        (9, 0, 300),
        (20, 0, 300),
    ],
)
def test_retry_delay_is_exponential_with_full_jitter(attempt: int, low: float, high: float) -> None:
    rng = random.Random(7)
    delays = [retry_delay(attempt, 2, 300, None, rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert max(delays) > high * 0.8  # the whole range is used (full jitter)


def test_retry_after_wins() -> None:
    assert retry_delay(1, 2, 300, 42.0) == 42.0
    assert retry_delay(5, 2, 10, 900.0) == 900.0


def delivery(id_: int, contact: str, due: str) -> Head:
    return Head(id_, contact, due)


def test_pick_due_keeps_order_per_contact_and_lets_others_go() -> None:
    now = "2026-11-22T10:00:00.000Z"
    later = "2026-11-22T10:05:00.000Z"
    window = [
        delivery(1, "ann", later),  # retrying: holds back ann's next
        delivery(2, "ann", now),
        delivery(3, "bob", now),
        delivery(4, "bob", now),  # bob's second waits for his first
        delivery(5, "cy", now),
    ]
    due, next_due = pick_due(window, now, limit=10)
    assert due == [3, 5]
    assert next_due == later
    assert pick_due(window, now, limit=1)[0] == [3]


EXAMPLES = sorted(
    p.name
    for p in resources.files("patchbayd.route_examples").iterdir()
    if p.name.endswith(".toml")
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_shipped_example_parses_and_round_trips(name: str) -> None:
    text = (resources.files("patchbayd.route_examples") / name).read_text()
    routes = route_file.parse(text, name, PROVIDERS)
    again = route_file.parse(route_file.dumps(routes), "exported.toml", PROVIDERS)
    assert again == routes


BASE = """
[[route]]
name = "R"
provider = "omnisend"
trigger = "order.paid"
[[route.actions]]
type = "track_event"
"""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not toml [", "not valid TOML"),
        ("[other]\nx = 1", "[[route]] tables"),
        (BASE.replace('provider = "omnisend"', 'provider = "myspace"'), "provider: must be"),
        (BASE.replace('trigger = "order.paid"', 'trigger = "order paid"'), "trigger:"),
        (BASE + 'name = "{{ x | frobnicate }}"', "route 'R': actions[0]: name: unknown filter"),
        (BASE + 'name = "{{ x "', "route 'R': actions[0]: name"),
        (BASE.replace('type = "track_event"', 'type = "webhook"'), 'needs provider = "webhook"'),
        (BASE.replace('type = "track_event"', 'type = "add_to_list"'), "list: required"),
        (BASE.replace('provider = "omnisend"', 'provider = "benchmark"'), "has no event API"),
        (BASE + "[route.actions.properties]\nx = '{% if %}'", "properties.x"),
        (
            BASE.replace('trigger = "order.paid"', 'trigger = "order.paid"\ntimeout = "2m"'),
            "at most 60s",
        ),
        (
            BASE.replace('trigger = "order.paid"', 'trigger = "order.paid"\nselector = "fax"'),
            "selector",
        ),
        (
            BASE.replace('trigger = "order.paid"', 'trigger = "order.paid"\nfrobs = 1'),
            "unknown key 'frobs'",
        ),
        (BASE + BASE, "appears twice"),
    ],
)
def test_bad_route_files_are_refused_naming_file_route_and_field(text: str, words: str) -> None:
    with pytest.raises(RouteError) as caught:
        route_file.parse(text, "my.toml", PROVIDERS)
    assert words in str(caught.value) and "my.toml" in str(caught.value)


def test_plan_renders_keys_and_refuses_ineligible_contacts() -> None:
    [route] = route_file.parse(
        BASE + '[route.actions.properties]\nid = "{{ order.id }}"', "f", PROVIDERS
    )
    event = RouteEvent(
        "order.paid",
        "order.paid:s:o1",
        "s",
        "2026-11-22T10:00:00.000Z",
        {"email": "Ann@Example.com"},
        order={"id": "o1"},
    )
    [planned] = plan(route, event)
    assert planned.key == "order.paid:s:o1:0" and planned.refused is None
    assert planned.payload["properties"] == {"id": "o1"}
    assert planned.contact == "ann@example.com"
    role = RouteEvent("order.paid", "x", "s", "t", {"email": "info@example.com"})
    assert "role address" in str(plan(route, role)[0].refused)
    nobody = RouteEvent("order.paid", "x", "s", "t", {"phone": "+48500"})
    assert "no email" in str(plan(route, nobody)[0].refused)
    assert plan(route, RouteEvent("order.created", "x", "s", "t", {})) == []
