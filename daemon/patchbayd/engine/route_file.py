"""Route files: TOML in and out, checked whole before anything is stored.

A file holds one or more `[[route]]` tables; the same table shape is what the database
keeps (as JSON), so export then import gives the same route. Every error names the file,
the route and the field, and a template that does not parse (or uses a filter Liquid
does not have) is refused here, at import, not at the first event.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

import tomli_w

from ..config import ConfigError, parse_duration
from .routes import (
    ACTIONS,
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    SELECTORS,
    Action,
    Route,
    RouteError,
    check_conditions,
    check_templates,
)

ROUTE_KEYS = {
    "name",
    "description",
    "provider",
    "trigger",
    "stores",
    "conditions",
    "selector",
    "enabled",
    "timeout",
    "actions",
}
ACTION_KEYS = {"type", "name", "prefix", "strip_prefix", "properties", "list", "url", "body"}
NO_EVENTS = ("benchmark",)  # providers without an event API


def parse(text: str, file: str, providers: tuple[str, ...]) -> list[Route]:
    """Every route in a TOML document; RouteError names file, route and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RouteError(f"{file}: not valid TOML: {exc}") from None
    tables = data.get("route")
    if set(data) != {"route"} or not isinstance(tables, list) or not tables:
        raise RouteError(f"{file}: expected one or more [[route]] tables and nothing else")
    routes = [
        from_table(table, f"{file}: route {index + 1}", providers)
        for index, table in enumerate(tables)
    ]
    names = [r.name for r in routes]
    for name in names:
        if names.count(name) > 1:
            raise RouteError(f"{file}: route name {name!r} appears twice")
    return routes


def from_table(table: Any, where: str, providers: tuple[str, ...]) -> Route:
    """One route from its table (a file's [[route]], or the database's JSON)."""
    if not isinstance(table, Mapping):
        raise RouteError(f"{where}: expected a table")
    name = table.get("name")
    if isinstance(name, str) and name.strip():
        where = f"{where.rsplit(': route', 1)[0]}: route {name!r}"
    else:
        raise RouteError(f"{where}: name: required (a short text)")
    unknown = set(table) - ROUTE_KEYS
    if unknown:
        raise RouteError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    provider = table.get("provider")
    if provider not in providers:
        raise RouteError(f"{where}: provider: must be one of {', '.join(providers)}")
    trigger = table.get("trigger")
    if not isinstance(trigger, str) or not _trigger_ok(trigger):
        raise RouteError(
            f"{where}: trigger: expected an event name such as order.paid, or a "
            "family such as loyalty.*"
        )
    stores = table.get("stores", [])
    if not isinstance(stores, list) or not all(isinstance(s, str) and s for s in stores):
        raise RouteError(f"{where}: stores: expected a list of store names")
    selector = table.get("selector", "email")
    if selector not in SELECTORS:
        raise RouteError(f"{where}: selector: must be one of {', '.join(SELECTORS)}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RouteError(f"{where}: enabled: expected true or false")
    timeout = _timeout(table.get("timeout"), where)
    conditions = table.get("conditions")
    if conditions is not None:
        check_conditions(conditions, f"{where}: conditions")
    actions = table.get("actions")
    if not isinstance(actions, list) or not actions:
        raise RouteError(f"{where}: actions: expected one or more [[route.actions]] tables")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise RouteError(f"{where}: description: expected a text")
    return Route(
        name=name.strip(),
        provider=str(provider),
        trigger=trigger,
        stores=tuple(stores),
        conditions=conditions,
        selector=str(selector),
        enabled=enabled,
        timeout=timeout,
        description=description,
        actions=tuple(
            _action(a, f"{where}: actions[{i}]", str(provider)) for i, a in enumerate(actions)
        ),
    )


def _trigger_ok(trigger: str) -> bool:
    body = trigger[:-2] if trigger.endswith(".*") else trigger
    return trigger == "*" or (
        bool(body)
        and all(part and all(c.isalnum() or c in "_-" for c in part) for part in body.split("."))
    )


def _timeout(value: Any, where: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RouteError(f"{where}: timeout: expected a duration such as 10s")
    try:
        seconds = (
            parse_duration(value, where, "timeout") if isinstance(value, str) else float(value)
        )
    except ConfigError as exc:
        raise RouteError(f"{where}: timeout: {exc.reason}") from None
    if not 0 < seconds <= MAX_TIMEOUT:
        raise RouteError(f"{where}: timeout: must be more than 0 and at most {MAX_TIMEOUT:g}s")
    return seconds


def _action(table: Any, where: str, provider: str) -> Action:
    if not isinstance(table, Mapping):
        raise RouteError(f"{where}: expected a table")
    kind = table.get("type")
    if kind not in ACTIONS:
        raise RouteError(f"{where}: type: must be one of {', '.join(ACTIONS)}")
    unknown = set(table) - ACTION_KEYS
    if unknown:
        raise RouteError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    if kind == "webhook" and provider != "webhook":
        raise RouteError(
            f'{where}: type: a webhook action needs provider = "webhook" (its '
            "integration's key signs the request)"
        )
    if kind == "track_event" and provider in NO_EVENTS:
        raise RouteError(f"{where}: type: {provider} has no event API")
    if kind == "add_to_list" and not table.get("list"):
        raise RouteError(f"{where}: list: required for add_to_list")
    texts = {}
    for key in ("name", "prefix", "strip_prefix", "list", "url"):
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise RouteError(f"{where}: {key}: expected a text")
        texts[key] = value
    for key in ("properties", "body"):
        if not isinstance(table.get(key, {}), Mapping):
            raise RouteError(f"{where}: {key}: expected a table of templates")
    if texts["name"]:
        check_templates(texts["name"], f"{where}: name")
    check_templates(dict(table.get("properties", {})), f"{where}: properties")
    check_templates(dict(table.get("body", {})), f"{where}: body")
    return Action(
        type=str(kind),
        name=texts["name"],
        prefix=texts["prefix"],
        strip_prefix=texts["strip_prefix"],
        list=texts["list"],
        url=texts["url"],
        properties=dict(table.get("properties", {})),
        body=dict(table.get("body", {})),
    )


def to_table(route: Route) -> dict[str, Any]:
    """The route as its file table (and database JSON): defaults and empties left out."""
    table: dict[str, Any] = {
        "name": route.name,
        "provider": route.provider,
        "trigger": route.trigger,
    }
    if route.description:
        table["description"] = route.description
    if route.stores:
        table["stores"] = list(route.stores)
    if route.selector != "email":
        table["selector"] = route.selector
    if not route.enabled:
        table["enabled"] = False
    if route.timeout != DEFAULT_TIMEOUT:
        table["timeout"] = f"{route.timeout:g}s"
    if route.conditions:
        table["conditions"] = dict(route.conditions)
    table["actions"] = [
        {
            key: value
            for key, value in (
                ("type", a.type),
                ("name", a.name),
                ("prefix", a.prefix),
                ("strip_prefix", a.strip_prefix),
                ("list", a.list),
                ("url", a.url),
                ("properties", dict(a.properties)),
                ("body", dict(a.body)),
            )
            if value not in (None, {})
        }
        for a in route.actions
    ]
    return table


def dumps(routes: list[Route]) -> str:
    """A TOML file holding `routes`, importable as it is."""
    return tomli_w.dumps({"route": [to_table(r) for r in routes]})
