"""Shopify shops below /shopify/{shop}: the REST Admin API's customers, orders and webhooks.

Any shop name works and is created on first use (the data lives in shopify_store). A PUT
to a customer announces customers/update after answering, as Shopify's webhooks arrive
after the API call that caused them.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..clock import Clock, isoformat, parse_time
from . import emails, paging
from .shopify_store import Invalid, Shop, ShopifyState
from .system import Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/shopify/{shop}"
BUCKET_SIZE = 40
MAX_PAGE = 250
DEFAULT_PAGE = 50
ORDER_STATUSES = frozenset({"any", "open", "closed", "cancelled"})
INVALID_TOKEN = (
    "[API] Invalid API key or access token (unrecognized login or wrong "  # noqa: S105
    "password)"
)
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service."
)


def error(status: int, message: object) -> Response:
    return JSONResponse({"errors": message}, status_code=status)


async def authenticate(call: Call) -> Response | None:
    if call.key_ok(call.request.headers.get("X-Shopify-Access-Token")):
        return None
    return error(401, INVALID_TOKEN)


def throttled(retry_after: int) -> Response:
    return error(429, THROTTLED)


def rate_headers(quota: Quota | None) -> dict[str, str]:
    """The leaky bucket's fill level; with a per-minute limit set, the window's use scaled to
    the bucket size, so a client watching the header slows down before the 429."""
    used = 1
    if quota is not None:
        used = math.ceil((quota.limit - quota.remaining) * BUCKET_SIZE / quota.limit)
    return {"X-Shopify-Shop-Api-Call-Limit": f"{min(max(used, 1), BUCKET_SIZE)}/{BUCKET_SIZE}"}


DIALECT = Dialect(error, authenticate, throttled, rate_headers)


def create(clock: Clock, webhook_secret: str) -> System[ShopifyState]:
    return System("shopify", ShopifyState(clock, webhook_secret), DIALECT, clock)


def endpoints(system: System[ShopifyState]) -> list[Endpoint]:
    state = system.state

    def shop_of(call: Call) -> Shop:
        return state.shop(call.request.path_params["shop"])

    async def shop_info(call: Call) -> Response:
        return JSONResponse({"shop": shop_of(call).info()})

    async def list_customers(call: Call) -> Response:
        shop = shop_of(call)
        return _listing(
            call.request,
            "customers",
            shop.customer_ids,
            shop.customers,
            filters=("updated_at_min",),
        )

    async def get_customer(call: Call) -> Response:
        customer = shop_of(call).customers.get(call.request.path_params["id"])
        if customer is None:
            return error(404, "Not Found")
        return JSONResponse({"customer": customer})

    async def update_customer(call: Call) -> Response:
        shop = shop_of(call)
        customer = shop.customers.get(call.request.path_params["id"])
        if customer is None:
            return error(404, "Not Found")
        body = await call.json_object()
        fields = body.get("customer")
        if not isinstance(fields, dict):
            return error(400, {"customer": "Required parameter missing or invalid"})
        if fields.get("email") is not None and not emails.is_valid(fields["email"]):
            return error(422, {"email": ["is invalid"]})
        try:
            announcement = state.upsert_customer(shop, fields, customer)
        except Invalid as exc:
            return error(exc.status, exc.errors)
        return JSONResponse(
            {"customer": announcement.payload},
            background=BackgroundTask(state.announce, shop, announcement),
        )

    async def list_orders(call: Call) -> Response:
        shop = shop_of(call)
        if call.request.query_params.get("status", "open") not in ORDER_STATUSES:
            return error(400, {"status": ["is not included in the list"]})
        return _listing(
            call.request,
            "orders",
            shop.order_ids,
            shop.orders,
            filters=(),
            allowed_with_cursor=("status",),
        )

    async def list_webhooks(call: Call) -> Response:
        params = call.request.query_params
        hooks = [
            hook
            for hook in shop_of(call).webhooks.values()
            if params.get("topic", hook["topic"]) == hook["topic"]
            and params.get("address", hook["address"]) == hook["address"]
        ]
        return JSONResponse({"webhooks": hooks})

    async def add_webhook(call: Call) -> Response:
        try:
            webhook = state.add_webhook(
                shop_of(call), await call.json(), call.request.path_params["v"]
            )
        except Invalid as exc:
            return error(exc.status, exc.errors)
        return JSONResponse({"webhook": webhook}, status_code=201)

    async def delete_webhook(call: Call) -> Response:
        if shop_of(call).webhooks.pop(call.request.path_params["id"], None) is None:
            return error(404, "Not Found")
        return JSONResponse({})

    base = "/admin/api/{v}"
    return [
        Endpoint("GET", f"{base}/shop.json", shop_info),
        Endpoint("GET", f"{base}/customers.json", list_customers),
        Endpoint("GET", f"{base}/customers/{{id:int}}.json", get_customer),
        Endpoint("PUT", f"{base}/customers/{{id:int}}.json", update_customer),
        Endpoint("GET", f"{base}/orders.json", list_orders),
        Endpoint("GET", f"{base}/webhooks.json", list_webhooks),
        Endpoint("POST", f"{base}/webhooks.json", add_webhook),
        Endpoint("DELETE", f"{base}/webhooks/{{id:int}}.json", delete_webhook),
    ]


def _listing(
    request: Request,
    key: str,
    ids: list[int],
    rows: dict[int, dict[str, Any]],
    *,
    filters: tuple[str, ...],
    allowed_with_cursor: tuple[str, ...] = (),
) -> Response:
    """One page of rows by id, with Shopify's Link header when more remain."""
    params = request.query_params
    raw_limit = params.get("limit", str(DEFAULT_PAGE))
    if not (raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_PAGE):
        return error(400, {"limit": [f"must be between 1 and {MAX_PAGE}"]})
    limit = int(raw_limit)
    cursor = params.get("page_info")
    if cursor is not None:
        extra = set(params) - {"limit", "page_info", *allowed_with_cursor}
        if extra:
            return error(
                400,
                {
                    "page_info": [
                        "cannot be combined with other parameters: " + ", ".join(sorted(extra))
                    ]
                },
            )
        decoded = paging.decode(cursor)
        if decoded is None:
            return error(400, {"page_info": ["Invalid value."]})
        after, active = decoded
    else:
        after, active = 0, {}
        for name in filters:
            if name in params:
                moment = parse_time(params[name])
                if moment is None:
                    return error(400, {name: ["is invalid"]})
                active[name] = isoformat(moment)
    since = active.get("updated_at_min")
    found, more = paging.page(
        ids, rows, after, limit, lambda row: since is None or row["updated_at"] >= since
    )
    response = JSONResponse({key: found})
    if more:
        next_url = request.url.remove_query_params(list(params)).include_query_params(
            limit=limit, page_info=paging.encode(found[-1]["id"], active)
        )
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
