"""Control API for what the stores told us: look customers up by email or id."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import customers as tables
from .errors import ApiError
from .state import parts_of


async def customers(request: Request) -> Response:
    parts = parts_of(request)
    store = request.path_params["store"]
    if store not in parts.config.stores:
        raise ApiError(404, f"no store {store!r}")
    found = await tables.find(
        parts.db,
        store,
        email=request.query_params.get("email"),
        customer_id=request.query_params.get("id"),
    )
    return JSONResponse({"customers": [asdict(c) for c in found]})


ROUTES = [Route("/v1/stores/{store}/customers", customers)]
