"""Routes: trigger -> conditions -> actions, as pure functions over plain data.

A route says which events (a trigger name, or a family such as `loyalty.*`), under which
conditions (structured `field`/`op`/`value`, combined with `all`/`any`), become which
deliveries to its provider (`track_event`, `upsert_contact`, `add_to_list`, `webhook`).
Payloads are Liquid templates, rendered once when a delivery is planned: what the
outbox holds is exactly what will be sent, and editing a route changes only later events.
Nothing here does I/O; the processor plans deliveries with it inside the transaction that
commits the event, and the outbox sends them.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError

from .mapping import ineligible

ACTIONS = ("track_event", "upsert_contact", "add_to_list", "webhook")
SELECTORS = ("email", "phone", "external_id")
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with", "exists")
BUILT_IN_TRIGGERS = (
    "customer.created",
    "customer.updated",
    "consent.changed",
    "order.paid",
    "loyalty.points_awarded",
    "loyalty.coupon_created",
    "loyalty.tier_changed",
    "loyalty.points_expiring",
    "referral.completed",
    "review.created",
)
MAX_TIMEOUT = 60.0
DEFAULT_TIMEOUT = 10.0
MAX_RETRIES = 5


class _Bounded(Environment):
    """Liquid with limits: a template renders untrusted event data, and rendering runs
    inside the commit of the event, so a runaway loop or output must fail fast."""

    loop_iteration_limit = 10_000
    output_stream_limit = 100_000
    context_depth_limit = 20


_LIQUID = _Bounded()


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> BoundTemplate:
    """A template parsed once, not at every event it renders (a route's templates are
    few and fixed; events are many)."""
    return _LIQUID.from_string(text)


_PLAIN_PATH = re.compile(r"^\{\{\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*\}\}$")
_MISSING = object()


class RouteError(ValueError):
    """A route that cannot be used; the message names the route and the field."""


# ---- the route itself ------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    type: str
    name: str | None = None  # track_event: the event name (a template)
    prefix: str | None = None  # track_event: added to the name
    strip_prefix: str | None = None  # track_event: removed from the name where present
    properties: Mapping[str, Any] = field(default_factory=dict)  # templates, nestable
    list: str | None = None  # add_to_list (and Mailchimp events): the destination
    url: str | None = None  # webhook: overrides the integration's URL
    body: Mapping[str, Any] = field(default_factory=dict)  # webhook: templates, nestable


@dataclass(frozen=True)
class Route:
    name: str
    provider: str
    trigger: str
    actions: tuple[Action, ...]
    stores: tuple[str, ...] = ()  # empty: every store where the provider is installed
    conditions: Mapping[str, Any] | None = None  # {"all": [...]} | {"any": [...]} | a leaf
    selector: str = "email"
    enabled: bool = True
    timeout: float = DEFAULT_TIMEOUT
    description: str = ""


def trigger_matches(trigger: str, event_type: str) -> bool:
    """`loyalty.*` matches every `loyalty.` event; anything else matches itself only."""
    if trigger == "*":
        return True
    if trigger.endswith(".*"):
        return event_type.startswith(trigger[:-1])
    return trigger == event_type


def with_prefix(name: str, prefix: str | None, strip: str | None) -> str:
    """The event name as the provider gets it: `strip` removed if it leads, then `prefix`
    added unless already there (so a route re-applied never doubles it)."""
    if strip and name.startswith(strip):
        name = name[len(strip) :]
    if prefix and not name.startswith(prefix):
        name = prefix + name
    return name


# ---- conditions ------------------------------------------------------------------------


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """`data.points` in the event context; _MISSING when any step is absent."""
    value: Any = context
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(op: str, actual: Any, expected: Any) -> bool:
    """Ordering ops compare as numbers when both sides are numbers (order totals arrive
    as strings), else as text; a type that cannot be compared is simply false."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        pair: tuple[Any, Any] = (left, right)
    elif isinstance(actual, str) and isinstance(expected, str):
        pair = (actual, expected)
    else:
        return False
    outcomes: dict[str, bool] = {
        "gt": pair[0] > pair[1],
        "gte": pair[0] >= pair[1],
        "lt": pair[0] < pair[1],
        "lte": pair[0] <= pair[1],
    }
    return outcomes[op]


def _equal(actual: Any, expected: Any) -> bool:
    """Text against text as text ("007" is not "7"); otherwise numbers as numbers, so a
    total of "129.90" equals 129.9; otherwise plain equality."""
    if isinstance(actual, str) and isinstance(expected, str):
        return actual == expected
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return bool(actual == expected)


def holds(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> bool:
    """Evaluate structured conditions: a leaf {field, op, value}, or {all: [...]} /
    {any: [...]} of them, nested. No conditions: true. A missing field fails every op
    but `ne`, `not_in` and `exists` (which says whether it is there)."""
    if not condition:
        return True
    if "all" in condition:
        return all(holds(c, context) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, context) for c in condition["any"])
    op, expected = condition["op"], condition.get("value")
    actual = lookup(context, condition["field"])
    if op == "exists":
        return (actual is not _MISSING and actual is not None) == (expected is not False)
    if actual is _MISSING or actual is None:
        return op in ("ne", "not_in")
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(_equal(actual, e) for e in expected)
    if op == "not_in":
        return isinstance(expected, list) and not any(_equal(actual, e) for e in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list | tuple) and expected in actual
    if op == "starts_with":
        return isinstance(actual, str) and isinstance(expected, str) and actual.startswith(expected)
    return _compare(op, actual, expected)


def check_conditions(condition: Any, where: str) -> None:
    """Raise RouteError for a condition tree that `holds` could not evaluate."""
    if not isinstance(condition, Mapping):
        raise RouteError(f"{where}: expected a table with all, any, or field/op/value")
    for combiner in ("all", "any"):
        if combiner in condition:
            items = condition[combiner]
            if set(condition) != {combiner} or not isinstance(items, list) or not items:
                raise RouteError(f"{where}.{combiner}: expected a non-empty list, alone")
            for index, item in enumerate(items):
                check_conditions(item, f"{where}.{combiner}[{index}]")
            return
    if not isinstance(condition.get("field"), str) or not condition["field"]:
        raise RouteError(f"{where}.field: required (a path such as data.points)")
    if condition.get("op") not in OPS:
        raise RouteError(f"{where}.op: must be one of {', '.join(OPS)}")
    if condition["op"] in ("in", "not_in") and not isinstance(condition.get("value"), list):
        raise RouteError(f"{where}.value: {condition['op']} takes a list")
    if condition["op"] != "exists" and "value" not in condition:
        raise RouteError(f"{where}.value: required for {condition['op']}")
    unknown = set(condition) - {"field", "op", "value"}
    if unknown:
        raise RouteError(f"{where}: unknown key {sorted(unknown)[0]!r}")


# ---- templates -------------------------------------------------------------------------


def check_template(text: str, where: str) -> None:
    """Parse a Liquid template now (at import), refusing unknown filters too: Liquid
    itself would only notice those when rendering, long after the import said yes."""
    try:
        template = _compiled(text)
        names = template.filter_names()
    except LiquidError as exc:
        raise RouteError(f"{where}: {str(exc).splitlines()[0]}") from None
    unknown = sorted(set(names) - set(_LIQUID.filters))
    if unknown:
        raise RouteError(f"{where}: unknown filter {unknown[0]!r}")


def check_templates(value: Any, where: str) -> None:
    if isinstance(value, str):
        check_template(value, where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_templates(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_templates(item, f"{where}[{index}]")


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Templates in `value` rendered against the event. A template that is just one
    variable (`{{ data.points }}`) keeps the variable's type, so numbers stay numbers;
    anything else renders to text. Tables and lists render member by member."""
    if isinstance(value, str):
        plain = _PLAIN_PATH.match(value)
        if plain:
            found = lookup(context, plain.group(1))
            return None if found is _MISSING else found
        return _compiled(value).render(**context)
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


# ---- planning deliveries ---------------------------------------------------------------


@dataclass(frozen=True)
class RouteEvent:
    """Something that happened in a store, as routes see it (and templates read it)."""

    type: str
    id: str  # stable: the delivery's idempotency key is built from it
    store: str
    occurred_at: str
    customer: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    order: Mapping[str, Any] | None = None

    def context(self) -> dict[str, Any]:
        return {
            "event": {
                "type": self.type,
                "id": self.id,
                "store": self.store,
                "occurred_at": self.occurred_at,
            },
            "customer": dict(self.customer),
            "data": dict(self.data),
            "order": dict(self.order) if self.order else {},
            "store": self.store,
        }


@dataclass(frozen=True)
class Planned:
    """One delivery: rendered, keyed, ready for the outbox (or dead already, with why)."""

    action: int
    kind: str
    contact: str
    key: str  # the idempotency key the provider gets (event id, action index)
    payload: dict[str, Any]
    refused: str | None = None  # set: the delivery is recorded dead at once, never sent


def runs_in(route: Route, store: str, installed: Sequence[str]) -> bool:
    """A route fires in a store only where its provider is installed there."""
    if not route.enabled or route.provider not in installed:
        return False
    return not route.stores or store in route.stores


def plan(route: Route, event: RouteEvent) -> list[Planned]:
    """The deliveries `route` makes of `event` (none when its trigger or conditions do
    not hold). A contact the sync would not send (no address, invalid, role) is planned
    dead with the reason: the one eligibility rule holds on every path out."""
    if not trigger_matches(route.trigger, event.type):
        return []
    context = event.context()
    if not holds(route.conditions, context):
        return []
    contact = str(event.customer.get(_SELECTOR_FIELD[route.selector]) or "").strip()
    refused = None
    if not contact:
        refused = f"the event has no {route.selector} to match the contact by"
    elif route.selector == "email":
        refused = ineligible(contact)
    planned = []
    for index, action in enumerate(route.actions):
        why = refused
        try:
            payload = _payload(
                action,
                event,
                context,
                contact.lower() if route.selector == "email" else contact,
                route.selector,
            )
        except (LiquidError, ArithmeticError, ValueError, TypeError) as exc:
            # A template that fails on this event's data: this delivery is dead with the
            # reason; the event itself (and the route's other actions) go on.
            payload = {}
            why = why or f"template error: {str(exc).splitlines()[0][:200]}"
        planned.append(
            Planned(index, action.type, contact.lower(), f"{event.id}:{index}", payload, why)
        )
    return planned


_SELECTOR_FIELD = {"email": "email", "phone": "phone", "external_id": "id"}


def _payload(
    action: Action, event: RouteEvent, context: Mapping[str, Any], contact: str, selector: str
) -> dict[str, Any]:
    who = {selector: contact}
    if action.type == "track_event":
        # Without a name template, the event's type as it is: it came from outside, and
        # outside text is data, never a template.
        name = render(action.name, context) if action.name else event.type
        return {
            **who,
            "name": with_prefix(str(name), action.prefix, action.strip_prefix),
            "occurred_at": event.occurred_at,
            "list": action.list,
            "properties": render(dict(action.properties), context),
        }
    if action.type == "upsert_contact":
        return {**who, "list": action.list, "properties": render(dict(action.properties), context)}
    if action.type == "add_to_list":
        return {**who, "list": action.list, "properties": render(dict(action.properties), context)}
    return {**who, "url": action.url, "body": render(dict(action.body), context)}


# ---- retries ---------------------------------------------------------------------------


def retry_delay(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retry number `attempt` (1-based): exponential with full jitter,
    uniform in [0, min(cap, base * 2**(attempt-1))]; a provider's Retry-After wins."""
    if retry_after is not None and retry_after > 0:
        return retry_after
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return (rng or random).uniform(0, ceiling)
