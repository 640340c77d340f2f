"""Control API for the stores: each one's health, what came in from it and how much is
waiting (the console's store view), and customers looked up by email or id."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import customers as tables
from ..db import inbox, store_imports
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


async def listing(request: Request) -> Response:
    """Each store as status shows it (health, rows per table), with when something last
    came in, what waits in the inbox or is quarantined, and when its import last saved."""
    parts = parts_of(request)
    stores = []
    for store in (await parts.status())["stores"]:
        name = store["name"]
        stores.append(
            {
                **store,
                **await inbox.store_activity(parts.db, name),
                "import_saved_at": await store_imports.saved_at(parts.db, name),
            }
        )
    return JSONResponse({"stores": stores})


ROUTES = [
    Route("/v1/stores", listing),
    Route("/v1/stores/{store}/customers", customers),
]
