"""Control API for providers and integrations: list, show, connect, check, disconnect.

The connect body carries the credential (the socket is 0660, local only); it goes
straight into a `Secret` and is never echoed, logged or returned.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import event_log, orders
from ..db import integrations as rows
from ..integrations import ConnectRefused, UnknownIntegration
from ..providers.errors import AuthFailed, ProviderError, Transient
from ..providers.registry import SPECS, InvalidSettings
from ..secret import Secret
from .errors import ApiError
from .sse import event_stream
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components


async def json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _id(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit():
        raise ApiError(404, f"no integration {raw!r}")
    return int(raw)


def cards(parts: Components) -> list[dict[str, Any]]:
    live = parts.integrations.list()
    used = {i.provider for i in live}
    return [
        *({"card": "integration", **i.public()} for i in live),
        *(
            {"card": "available", "provider": name, "state": "available", "title": spec.title}
            for name, spec in SPECS.items()
            if name not in used
        ),
    ]


def detail(parts: Components, integration_id: int) -> dict[str, Any]:
    try:
        live = parts.integrations.get(integration_id)
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    limiter = live.limiter
    base = f"{parts.public_url}/callbacks/{live.integration.callback_token}"
    key = live.provider.callback_query
    return {
        **live.integration.public(),
        "callbacks": {
            "opt_in": f"{base}/opt-in?email=$email${key}",
            "opt_out": f"{base}/opt-out?email=$email${key}",
        },
        "rate_limit": str(limiter.limit) if limiter.limit else "none",
        "throttled": limiter.throttled,
        "usage": limiter.usage(),
    }


PROBLEMS = ("warning", "error")
PROBLEMS_SHOWN = 10
RING_READ = 100_000  # the whole ring, whatever size it was given


async def problems(parts: Components, integration_id: int) -> list[dict[str, Any]]:
    """The integration's newest warnings and errors: from the bus's ring, and from the
    event log table for what the ring no longer holds (after a restart, say)."""
    ring = parts.bus.recent(RING_READ)
    mine = [
        e
        for e in ring
        if e.level in PROBLEMS and str(e.fields.get("integration")) == str(integration_id)
    ]
    if len(mine) < PROBLEMS_SHOWN:
        query = event_log.EventQuery(
            PROBLEMS, str(integration_id), before=ring[0].id if ring else None
        )
        mine = [*await event_log.newest(parts.db, query, PROBLEMS_SHOWN - len(mine)), *mine]
    return [e.as_dict() for e in mine[-PROBLEMS_SHOWN:]]


async def providers(request: Request) -> Response:
    return JSONResponse({"providers": [spec.describe() for spec in SPECS.values()]})


async def list_integrations(request: Request) -> Response:
    parts = parts_of(request)
    return JSONResponse(
        {"integrations": [i.public() for i in parts.integrations.list()], "cards": cards(parts)}
    )


async def connect(request: Request) -> Response:
    body = await json_object(request)
    provider, store, secret = body.get("provider"), body.get("store"), body.get("secret")
    if provider not in SPECS:
        raise ApiError(404, f"unknown provider {provider!r}; one of {', '.join(SPECS)}")
    if not isinstance(store, str) or not store:
        raise ApiError(422, "store is required")
    if not isinstance(secret, str) or not secret.strip():
        raise ApiError(422, f"the {SPECS[provider].secret_label} is required")
    settings = body.get("settings") or {}
    if not isinstance(settings, dict):
        raise ApiError(422, "settings must be an object")
    try:
        integration = await parts_of(request).integrations.connect(
            provider, store, settings, Secret(secret.strip())
        )
    except ConnectRefused as exc:
        raise _refusal(exc.error) from None
    return JSONResponse(integration.public(), status_code=201)


async def show(request: Request) -> Response:
    parts = parts_of(request)
    integration_id = _id(request)
    data = detail(parts, integration_id)
    data["audit"] = await rows.audit(parts.db, integration_id, 20)
    data["problems"] = await problems(parts, integration_id)
    return JSONResponse(data)


async def check(request: Request) -> Response:
    parts = parts_of(request)
    integration_id = _id(request)
    try:
        failed = await parts.integrations.check(integration_id)
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    if failed is not None:  # whatever kind: a check that did not pass is a failure
        raise ApiError(502, f"check failed: {failed.reason}", "check_failed")
    return JSONResponse(detail(parts, integration_id))


async def disconnect(request: Request) -> Response:
    try:
        integration, syncs = await parts_of(request).integrations.disconnect(_id(request))
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    return JSONResponse(
        {
            "disconnected": integration.id,
            "provider": integration.provider,
            "state": "available",
            "syncs_in_error": syncs,
        }
    )


async def export_orders(request: Request) -> Response:
    """Start an export in the background and answer at once (202) with where it stands;
    while one runs, answer that one (200, `already_running`), never a second export."""
    parts = parts_of(request)
    integration_id = _id(request)
    body = await json_object(request)
    mode = body.get("mode") or "once"
    if mode not in ("active", "once"):
        raise ApiError(422, "mode must be active or once")
    try:
        run, running = await parts.orders.request(integration_id, mode)
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    return JSONResponse({**run, "already_running": running}, status_code=200 if running else 202)


async def export_progress(request: Request) -> Response:
    """An export run: the newest of the integration, or `?export=ID`; `?follow=1` streams
    a snapshot, then its progress events (SSE) until the client stops reading."""
    parts = parts_of(request)
    integration_id = _id(request)
    raw = request.query_params.get("export")
    if raw is not None and not raw.isdigit():
        raise ApiError(422, "export must be an export id")
    follow = request.query_params.get("follow") in ("1", "true")
    # Subscribe before reading the state: a run ending in between is not missed.
    subscription = parts.bus.subscribe() if follow else None
    run = await parts.orders.status(integration_id, int(raw) if raw else None)
    if run is None:
        if subscription is not None:
            subscription.close()
        raise ApiError(
            404,
            f"no order export {raw} of integration {integration_id}"
            if raw
            else f"no order export of integration {integration_id} yet",
        )
    if subscription is None:
        return JSONResponse(run)
    run_id = run["id"]
    return event_stream(
        subscription,
        [f"event: snapshot\ndata: {json.dumps(run)}\n\n"],
        lambda event: (
            event.kind == "progress"
            and event.component == "orders"
            and event.fields.get("export") == run_id
        ),
    )


async def order_report(parts: Components, integration_id: int) -> dict[str, Any]:
    """An integration's order ledger (orders by state), its problem orders and its newest
    export: what `orders status` prints and the console's orders view shows."""
    return {
        "ledger": await orders.ledger(parts.db, integration_id),
        "problems": await orders.problems(parts.db, integration_id),
        "export": await parts.orders.status(integration_id),
    }


async def order_status(request: Request) -> Response:
    return JSONResponse(await order_report(parts_of(request), _id(request)))


async def all_orders(request: Request) -> Response:
    """Every integration's order report, in one answer (the console's orders view)."""
    parts = parts_of(request)
    return JSONResponse(
        {
            "integrations": [
                {
                    "integration": i.id,
                    "provider": i.provider,
                    "store": i.store,
                    **await order_report(parts, i.id),
                }
                for i in parts.integrations.list()
            ]
        }
    )


ROUTES = [
    Route("/v1/providers", providers),
    Route("/v1/orders", all_orders),
    Route("/v1/integrations/{id}/orders", order_status),
    Route("/v1/integrations/{id}/orders/export", export_orders, methods=["POST"]),
    Route("/v1/integrations/{id}/orders/export", export_progress),
    Route("/v1/integrations", list_integrations),
    Route("/v1/integrations", connect, methods=["POST"]),
    Route("/v1/integrations/{id}", show),
    Route("/v1/integrations/{id}", disconnect, methods=["DELETE"]),
    Route("/v1/integrations/{id}/check", check, methods=["POST"]),
]


def _refusal(error: ProviderError | InvalidSettings) -> ApiError:
    if isinstance(error, InvalidSettings):
        return ApiError(422, str(error))
    if isinstance(error, AuthFailed):
        return ApiError(422, f"credentials rejected: {error.reason}", "auth_failed")
    if isinstance(error, Transient):
        return ApiError(502, f"cannot verify: {error.reason}", "provider_unavailable")
    return ApiError(422, f"cannot verify: {error.reason}", error.kind)
