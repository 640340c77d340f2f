"""The sandbox's own control surface below /_sandbox: state, faults, reset, and changes
made "at" the store or the provider that real systems would announce by webhook or callback.

Deliveries finish before a control call answers, so a test can assert on its receiver
right after the call returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..clock import isoformat, parse_time
from .callbacks import CallbackSettings, ProviderState
from .deliver import deliver_all
from .faults import FaultError
from .shopify_seed import seed_customers, seed_orders
from .shopify_store import Invalid, ShopifyState
from .shopify_webhooks import Announcement
from .system import System

MAX_SEED = 1_000_000
CONSENT_STATES = {"subscribed": True, "unsubscribed": False}

Handler = Callable[[Request], Awaitable[Response]]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def refusal(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def body_of(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def answering(handler: Handler) -> Handler:
    """Turn a ControlError into its {"error"} answer."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ControlError as exc:
            return refusal(exc.status, exc.message)

    return run


def routes(systems: Mapping[str, System[Any]], shopify: System[ShopifyState]) -> list[BaseRoute]:
    def system_of(request: Request) -> System[Any]:
        name = request.path_params["system"]
        if name not in systems:
            raise ControlError(404, f"unknown system: {name}")
        return systems[name]

    def provider_of(request: Request) -> ProviderState:
        state = system_of(request).state
        if not isinstance(state, ProviderState):
            raise ControlError(404, f"{request.path_params['system']} has no consent to change")
        return state

    async def state(request: Request) -> Response:
        return JSONResponse(system_of(request).snapshot())

    async def faults(request: Request) -> Response:
        system = system_of(request)
        if request.method == "POST":
            try:
                system.faults.update(await body_of(request), system.knobs)
            except FaultError as exc:
                raise ControlError(400, str(exc)) from None
        return JSONResponse(system.faults_dict())

    async def reset(request: Request) -> Response:
        for system in systems.values():
            system.reset()
        return JSONResponse({"reset": sorted(systems)})

    async def callbacks(request: Request) -> Response:
        provider = provider_of(request)
        if request.method == "POST":
            try:
                provider.callbacks = CallbackSettings.parse(await body_of(request))
            except ValueError as exc:
                raise ControlError(400, str(exc)) from None
        return JSONResponse(provider.callbacks.as_dict())

    async def consent(request: Request) -> Response:
        provider = provider_of(request)
        body = await body_of(request)
        email, wanted = body.get("email"), body.get("state")
        if not isinstance(email, str) or "@" not in email:
            raise ControlError(400, "email must be an email address")
        if wanted not in CONSENT_STATES:
            raise ControlError(400, "state must be subscribed or unsubscribed")
        now = system_of(request).clock.now()
        at = parse_time(body["at"]) if body.get("at") is not None else now
        if at is None:
            raise ControlError(400, "at must be an ISO 8601 time")
        provider.set_consent(email, CONSENT_STATES[wanted], at)
        deliveries = provider.callbacks.deliveries(email, CONSENT_STATES[wanted], at)
        statuses = await deliver_all(deliveries)
        return JSONResponse(
            {
                "email": email,
                "state": wanted,
                "at": isoformat(at),
                "callbacks": [
                    {"url": d.url, "status": s} for d, s in zip(deliveries, statuses, strict=True)
                ],
            }
        )

    async def shop_change(
        request: Request, key: str, change: Callable[[dict[str, Any]], Announcement]
    ) -> Response:
        try:
            announcement = change(await body_of(request))
        except Invalid as exc:
            raise ControlError(400, f"{key}: {exc}") from None
        shop = shopify.state.shop(request.path_params["shop"])
        delivered = await shopify.state.announce(shop, announcement)
        return JSONResponse({key: announcement.payload, "webhooks": delivered})

    async def customers(request: Request) -> Response:
        shop = shopify.state.shop(request.path_params["shop"])
        return await shop_change(
            request, "customer", lambda body: shopify.state.upsert_customer(shop, body)
        )

    async def orders(request: Request) -> Response:
        shop = shopify.state.shop(request.path_params["shop"])
        return await shop_change(
            request, "order", lambda body: shopify.state.upsert_order(shop, body)
        )

    async def seed(request: Request) -> Response:
        body = await body_of(request)
        counts = {name: body.get(name, 0) for name in ("customers", "orders")}
        for name, count in counts.items():
            if (
                isinstance(count, bool)
                or not isinstance(count, int)
                or not (0 <= count <= MAX_SEED)
            ):
                raise ControlError(400, f"{name} must be an integer from 0 to {MAX_SEED}")
        shop = shopify.state.shop(request.path_params["shop"])
        now = shopify.clock.now()
        seed_customers(shop, shopify.state.ids, counts["customers"], now)
        seed_orders(shop, shopify.state.ids, counts["orders"], now)
        return JSONResponse({"customers": len(shop.customers), "orders": len(shop.orders)})

    table: list[tuple[str, Handler, list[str]]] = [
        ("/_sandbox/reset", reset, ["POST"]),
        ("/_sandbox/shopify/{shop}/customers", customers, ["POST"]),
        ("/_sandbox/shopify/{shop}/orders", orders, ["POST"]),
        ("/_sandbox/shopify/{shop}/seed", seed, ["POST"]),
        ("/_sandbox/{system}/state", state, ["GET"]),
        ("/_sandbox/{system}/faults", faults, ["GET", "POST"]),
        ("/_sandbox/{system}/consent", consent, ["POST"]),
        ("/_sandbox/{system}/callbacks", callbacks, ["GET", "POST"]),
    ]
    return [Route(path, answering(handler), methods=methods) for path, handler, methods in table]
