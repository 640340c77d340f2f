"""Control API for providers and integrations: list, show, connect, check, disconnect.

The connect body carries the credential (the socket is 0660, local only); it goes
straight into a `Secret` and is never echoed, logged or returned.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import integrations as rows
from ..db import orders
from ..integrations import ConnectRefused, UnknownIntegration
from ..providers.errors import AuthFailed, ProviderError, Transient
from ..providers.registry import SPECS, InvalidSettings
from ..secret import Secret
from .errors import ApiError
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
    }


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
    parts = parts_of(request)
    integration_id = _id(request)
    body = await json_object(request)
    mode = body.get("mode") or "once"
    if mode not in ("active", "once"):
        raise ApiError(422, "mode must be active or once")
    try:
        parts.integrations.get(integration_id)
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    try:
        report = await parts.orders.follow(integration_id, mode)
    except UnknownIntegration as exc:
        raise ApiError(404, str(exc)) from None
    return JSONResponse(
        {**asdict(report), "mode": mode, "ledger": await orders.ledger(parts.db, integration_id)}
    )


async def order_status(request: Request) -> Response:
    db = parts_of(request).db
    integration_id = _id(request)
    return JSONResponse(
        {
            "ledger": await orders.ledger(db, integration_id),
            "problems": await orders.problems(db, integration_id),
        }
    )


ROUTES = [
    Route("/v1/providers", providers),
    Route("/v1/integrations/{id}/orders", order_status),
    Route("/v1/integrations/{id}/orders/export", export_orders, methods=["POST"]),
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
