"""Control API for routes (import, export, switch, test, the shipped examples) and their
deliveries (list, inspect, replay)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import route_examples
from ..clock import isoformat, normalize_time
from ..db import outbox as outbox_rows
from ..db import routes as route_rows
from ..engine import route_file
from ..engine.outbox import NotReplayable
from ..engine.routes import Route as RouteDef
from ..engine.routes import RouteError, RouteEvent, holds, plan, trigger_matches
from ..providers.registry import SPECS
from .errors import ApiError
from .integrations_api import _id, json_object
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components


MAX_LIST = 1000


def _optional_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ApiError(400, f"{name} must be a number, got {raw!r}")
    return int(raw)


def examples() -> list[dict[str, Any]]:
    """The example route files shipped in the package: name (the file's, without .toml),
    the first route's name as title and its description, and the file's text. Package
    data: the control app's build() reads it once and keeps it on the app's state."""
    found = []
    for entry in sorted(resources.files(route_examples).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        text = entry.read_text(encoding="utf-8")
        try:
            tables = tomllib.loads(text).get("route") or [{}]
        except tomllib.TOMLDecodeError:
            tables = [{}]
        first = tables[0] if isinstance(tables, list) and isinstance(tables[0], dict) else {}
        found.append(
            {
                "name": entry.name.removesuffix(".toml"),
                "title": str(first.get("name") or ""),
                "description": str(first.get("description") or ""),
                "toml": text,
            }
        )
    return found


def now(parts: Components) -> str:
    return isoformat(parts.clock.now())


def parsed(stored: route_rows.StoredRoute) -> RouteDef:
    try:
        route = route_file.from_table(stored.definition, f"route {stored.id}", tuple(SPECS))
    except RouteError as exc:
        raise ApiError(409, str(exc)) from None
    return route


def summary(stored: route_rows.StoredRoute, counts: dict[str, int]) -> dict[str, Any]:
    table = stored.definition
    return {
        "id": stored.id,
        "name": stored.name,
        "provider": table["provider"],
        "trigger": table["trigger"],
        "stores": table.get("stores", []),
        "enabled": stored.enabled,
        "actions": [a["type"] for a in table["actions"]],
        "last_hour": counts,
        "updated_at": stored.updated_at,
    }


async def stored_or_404(request: Request) -> route_rows.StoredRoute:
    stored = await route_rows.get(parts_of(request).db, _id(request))
    if stored is None:
        raise ApiError(404, f"no route {request.path_params['id']}")
    return stored


def exported(stored: route_rows.StoredRoute) -> str:
    return route_file.dumps([replace(parsed(stored), enabled=stored.enabled)])


async def list_routes(request: Request) -> Response:
    parts = parts_of(request)
    since = isoformat(parts.clock.now() - timedelta(hours=1))
    counts = await outbox_rows.counts_by_route(parts.db, since)
    stored = await route_rows.all_routes(parts.db)
    return JSONResponse({"routes": [summary(s, counts.get(s.id, {})) for s in stored]})


async def show(request: Request) -> Response:
    parts = parts_of(request)
    stored = await stored_or_404(request)
    since = isoformat(parts.clock.now() - timedelta(hours=1))
    counts = (await outbox_rows.counts_by_route(parts.db, since)).get(stored.id, {})
    return JSONResponse(
        {**summary(stored, counts), "definition": stored.definition, "toml": exported(stored)}
    )


async def import_routes(request: Request) -> Response:
    parts = parts_of(request)
    body = await json_object(request)
    text, file = body.get("toml"), str(body.get("file") or "routes.toml")
    if not isinstance(text, str):
        raise ApiError(400, "toml: the file's text is required")
    try:
        found = route_file.parse(text, file, tuple(SPECS))
        ids, kept = await parts.routes.install(
            found,
            file,
            parts.config.stores,
            replace_same_name=bool(body.get("replace")),
            now=now(parts),
        )
    except RouteError as exc:
        raise ApiError(422, str(exc), "invalid_route") from None
    return JSONResponse({"imported": ids, "kept": kept}, status_code=201 if ids else 200)


async def list_examples(request: Request) -> Response:
    shipped: list[dict[str, Any]] = request.app.state.examples  # read once, by build()
    return JSONResponse({"examples": shipped})


async def switch(request: Request) -> Response:
    verb = request.path_params["verb"]
    if verb not in ("enable", "disable"):
        raise ApiError(404, f"no such endpoint: POST {request.url.path}")
    parts = parts_of(request)
    stored = await stored_or_404(request)
    enabled = verb == "enable"
    await parts.routes.set_enabled(stored.id, enabled, now(parts))
    return JSONResponse({"id": stored.id, "enabled": enabled})


async def delete(request: Request) -> Response:
    parts = parts_of(request)
    stored = await stored_or_404(request)
    await parts.routes.delete(stored.id)
    return JSONResponse({"deleted": stored.id, "name": stored.name})


async def test(request: Request) -> Response:
    """What each action would send for the given event; nothing is sent or stored."""
    stored = await stored_or_404(request)
    route = parsed(stored)
    body = await json_object(request)
    event = _event(body.get("event"), route)
    context = event.context()
    matched = trigger_matches(route.trigger, event.type)
    return JSONResponse(
        {
            "route": stored.id,
            "trigger_matches": matched,
            "conditions_hold": holds(route.conditions, context),
            "deliveries": [
                {
                    "action": p.action,
                    "kind": p.kind,
                    "contact": p.contact,
                    "key": p.key,
                    "payload": p.payload,
                    "refused": p.refused,
                }
                for p in plan(route, event)
            ],
        }
    )


async def list_deliveries(request: Request) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in outbox_rows.STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(outbox_rows.STATUSES)}")
    found = await outbox_rows.listing(
        parts_of(request).db,
        status=status,
        route_id=_optional_int(request, "route"),
        integration_id=_optional_int(request, "integration"),
        limit=min(_optional_int(request, "limit") or 100, MAX_LIST),
    )
    return JSONResponse({"deliveries": [d.public() for d in found]})


async def show_delivery(request: Request) -> Response:
    delivery = await outbox_rows.get(parts_of(request).db, _id(request))
    if delivery is None:
        raise ApiError(404, f"no delivery {request.path_params['id']}")
    return JSONResponse(delivery.public())


async def replay(request: Request) -> Response:
    parts = parts_of(request)
    delivery = await outbox_rows.get(parts.db, _id(request))
    if delivery is None:
        raise ApiError(404, f"no delivery {request.path_params['id']}")
    try:
        await parts.outbox.replay(delivery)
    except NotReplayable as exc:
        raise ApiError(409, str(exc)) from None
    return JSONResponse({"replayed": 1, "ids": [delivery.id]})


async def replay_dead(request: Request) -> Response:
    parts = parts_of(request)
    body = await json_object(request)
    route_id = body.get("route")
    if route_id is not None and not isinstance(route_id, int):
        raise ApiError(400, "route must be a number")
    count = await parts.outbox.replay_dead(route_id)
    return JSONResponse({"replayed": count, "ids": []})


ROUTES = [
    Route("/v1/routes", list_routes),
    Route("/v1/routes/import", import_routes, methods=["POST"]),
    Route("/v1/routes/examples", list_examples),  # before /v1/routes/{id}
    Route("/v1/routes/{id}", show),
    Route("/v1/routes/{id}", delete, methods=["DELETE"]),
    Route("/v1/routes/{id}/test", test, methods=["POST"]),
    Route("/v1/routes/{id}/{verb:str}", switch, methods=["POST"]),
    Route("/v1/deliveries", list_deliveries),
    Route("/v1/deliveries/replay-dead", replay_dead, methods=["POST"]),
    Route("/v1/deliveries/{id}", show_delivery),
    Route("/v1/deliveries/{id}/replay", replay, methods=["POST"]),
]


def _event(raw: Any, route: RouteDef) -> RouteEvent:
    """A test event in the push format ({type, id, occurred_at, customer, data}, plus
    optional store and order)."""
    if not isinstance(raw, dict):
        raise ApiError(400, 'event: expected an object like {"type", "customer", "data"}')
    kind = raw.get("type", route.trigger)
    customer, data = raw.get("customer") or {}, raw.get("data") or {}
    if not isinstance(kind, str) or not isinstance(customer, dict) or not isinstance(data, dict):
        raise ApiError(400, "event: type is a text, customer and data are objects")
    order = raw.get("order")
    return RouteEvent(
        kind,
        str(raw.get("id") or "test"),
        str(raw.get("store") or "test"),
        normalize_time(raw.get("occurred_at")) or "2026-01-01T00:00:00.000Z",
        customer,
        data,
        order if isinstance(order, dict) else None,
    )
