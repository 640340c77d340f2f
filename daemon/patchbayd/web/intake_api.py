"""Public endpoints that take data in: Shopify webhooks and the push-store ingest API.

Checks run cheapest first and none of them touches the database: unknown store (404),
bad token (401), body too large (413), bad signature (401), malformed (400: every field
type-checked, non-finite numbers, huge integers, deep nesting and invalid Unicode
included). Only a request that passes them all is committed to the inbox, and it is
answered 2xx only after that commit; processing happens later from the database. Every
refusal is counted by route and reason and logged (sampled) without the secret or body.
Bodies are read under a shared byte budget, so memory stays bounded however many arrive;
the budget, the refusal log and its sampler are per app (a `Gate` on the app's state).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..clock import isoformat, normalize_time
from ..config import PushStore, ShopifyStore
from ..db.inbox import Incoming
from ..engine.mapping import email_problem
from ..intake import jsondoc
from ..intake import shopify as shopify_payloads
from ..intake.jsondoc import Malformed
from ..intake.push import KINDS, validate_push
from ..intake.records import callback_row
from ..log import Logger, Sampler
from .budget import BodyBudget, OverBudget
from .errors import ApiError
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components


@dataclass(frozen=True)
class Gate:
    """What the intake endpoints of one app share: the refusal log, its sampler and the
    body budget. The public app's build() makes one and keeps it on the app's state."""

    log: Logger
    sampler: Sampler
    budget: BodyBudget

    @classmethod
    def of(cls, parts: Components) -> Gate:
        return cls(
            Logger(parts.sink, "inbound"),
            Sampler(parts.clock),
            BodyBudget(parts.config.body_memory),
        )


def gate_of(request: Request) -> Gate:
    gate: Gate = request.app.state.gate
    return gate


def refuse(
    request: Request, route: str, status: int, reason: str, message: str, **fields: Any
) -> ApiError:
    parts_of(request).metrics.rejected.labels(route, reason).inc()
    gate = gate_of(request)
    allowed, suppressed = gate.sampler.allow((route, reason))
    if allowed:  # a flood of refusals costs a few lines, not the disk
        if suppressed:
            fields["suppressed"] = suppressed
        gate.log.warning(
            "request refused", route=route, status=status, reason=reason, detail=message, **fields
        )
    return ApiError(status, message)


@asynccontextmanager
async def reserved(request: Request, route: str, store: str) -> AsyncIterator[None]:
    """Room for this request's body in the shared budget, until it is answered."""
    limit = parts_of(request).config.max_body
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refuse(request, route, 413, "too_large", f"body over {limit} bytes", store=store)
    try:
        async with gate_of(request).budget.reserve(int(declared) if declared.isdigit() else limit):
            yield
    except OverBudget:
        raise refuse(
            request,
            route,
            503,
            "busy",
            "too many request bodies in flight; retry shortly",
            store=store,
        ) from None


async def body_of(request: Request, route: str, store: str) -> bytes:
    limit = parts_of(request).config.max_body
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise refuse(
                    request, route, 413, "too_large", f"body over {limit} bytes", store=store
                )
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or closed by the body timeout: nothing to answer
        raise refuse(
            request, route, 408, "incomplete_body", "the body did not arrive in time", store=store
        ) from None
    return b"".join(chunks)


def parsed(request: Request, raw: bytes, route: str, store: str) -> Any:
    try:
        return jsondoc.loads(raw)
    except Malformed as exc:
        raise refuse(request, route, 400, "malformed", str(exc), store=store) from None


async def ingest(request: Request) -> Response:
    parts = parts_of(request)
    route = "/ingest/{store}/{kind}"
    name, kind = request.path_params["store"], request.path_params["kind"]
    store = parts.config.stores.get(name)
    if not isinstance(store, PushStore) or kind not in KINDS:
        raise refuse(
            request,
            route,
            404,
            "unknown_target",
            f"no push store endpoint {name}/{kind}",
            store=name,
        )
    token = request.headers.get("authorization", "")
    expected = "Bearer " + store.ingest_token.reveal()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise refuse(request, route, 401, "bad_token", "missing or wrong bearer token", store=name)
    async with reserved(request, route, name):
        body = parsed(request, await body_of(request, route, name), route, name)
        try:
            found = validate_push(name, kind, body)
        except Malformed as exc:
            raise refuse(request, route, 400, "malformed", str(exc), store=name) from None
        # No content dedupe for ingest: the same payload sent again (a toggle back,
        # say) must apply again; processing is idempotent, so a repeat changes nothing.
        request_id = uuid.uuid4().hex
        rows = [
            Incoming.of(name, kind, "ingest", item, f"ingest:{request_id}:{index}")
            for index, item in enumerate(found)
        ]
        await parts.inbox.add(rows)
    return JSONResponse({"accepted": len(rows)}, status_code=202)


async def shopify(request: Request) -> Response:
    parts = parts_of(request)
    route = "/webhooks/shopify/{store}"
    name = request.path_params["store"]
    store = parts.config.stores.get(name)
    if not isinstance(store, ShopifyStore):
        raise refuse(
            request, route, 404, "unknown_target", f"no Shopify store {name!r}", store=name
        )
    async with reserved(request, route, name):
        raw = await body_of(request, route, name)
        given = request.headers.get("x-shopify-hmac-sha256", "")
        if not shopify_payloads.signed(store.webhook_secret.reveal(), raw, given):
            raise refuse(
                request,
                route,
                401,
                "bad_signature",
                "missing or wrong X-Shopify-Hmac-Sha256",
                store=name,
            )
        body = parsed(request, raw, route, name)
        topic = request.headers.get("x-shopify-topic", "")
        try:
            kind = shopify_payloads.validate(topic, body)
        except Malformed as exc:
            raise refuse(request, route, 400, "malformed", str(exc), store=name) from None
        webhook_id = request.headers.get("x-shopify-webhook-id")
        dedupe = f"webhook:{webhook_id}" if webhook_id else None
        await parts.inbox.add([Incoming.of(name, kind, "shopify", body, dedupe)])
    return JSONResponse({"ok": True})


async def callback(request: Request) -> Response:
    parts = parts_of(request)
    route = "/callbacks/{token}/{direction}"
    token, direction = request.path_params["token"], request.path_params["direction"]
    live = parts.integrations.by_callback_token(token)
    if live is None or direction not in ("opt-in", "opt-out"):
        raise refuse(request, route, 404, "unknown_target", "no such callback")
    integration = live.integration.id
    fields: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        async with reserved(request, route, live.integration.store):
            raw = await body_of(request, route, live.integration.store)
            if raw.strip():
                body = parsed(request, raw, route, live.integration.store)
                if not isinstance(body, dict):
                    raise refuse(
                        request,
                        route,
                        400,
                        "malformed",
                        "expected a JSON object",
                        integration=integration,
                    )
                fields.update(body)
    for name in ("email", "key", "at", "date"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise refuse(
                request,
                route,
                400,
                "malformed",
                f"{name}: expected a string",
                integration=integration,
            )
    email = str(fields.get("email") or "").strip().lower()
    if not email:
        raise refuse(request, route, 400, "malformed", "email: required", integration=integration)
    if email_problem(email) == "invalid_address":  # the sync's rule, so both agree
        raise refuse(
            request, route, 400, "malformed", "email: not a valid address", integration=integration
        )
    if not live.provider.callback_accepted(email, fields):
        raise refuse(
            request,
            route,
            401,
            "bad_signature",
            "the callback's signature does not match",
            integration=integration,
        )
    at = fields.get("at") or fields.get("date")
    moment = normalize_time(at) if at else None
    if at and moment is None:
        raise refuse(
            request,
            route,
            400,
            "malformed",
            f"at: expected an ISO-8601 time, got {at[:40]!r}",
            integration=integration,
        )
    # Into the inbox like every other input: one durable way in, answered after commit.
    await parts.inbox.add(
        [
            callback_row(
                live.integration.store,
                integration,
                "subscribed" if direction == "opt-in" else "unsubscribed",
                email,
                moment or isoformat(parts.clock.now()),
            )
        ]
    )
    return JSONResponse({"ok": True})


ROUTES = [
    Route("/callbacks/{token}/{direction}", callback, methods=["GET", "POST"]),
    Route("/ingest/{store}/{kind}", ingest, methods=["POST"]),
    Route("/webhooks/shopify/{store}", shopify, methods=["POST"]),
]
