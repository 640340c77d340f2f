"""Control API for the inbox's quarantine: rows that could not be processed, and replay."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import inbox as inbox_rows
from .errors import ApiError
from .state import parts_of


async def quarantined(request: Request) -> Response:
    parts = parts_of(request)
    items = await inbox_rows.quarantined(parts.db)
    return JSONResponse({"items": items, "count": parts.inbox_processor.quarantined})


async def replay(request: Request) -> Response:
    raw = request.path_params["id"]
    if not raw.isdigit():
        raise ApiError(400, f"an inbox row id is a number, got {raw!r}")
    if not await parts_of(request).inbox_processor.replay(int(raw)):
        raise ApiError(404, f"no quarantined inbox row {raw}")
    return JSONResponse({"replayed": int(raw)})


ROUTES = [
    Route("/v1/inbox/quarantined", quarantined),
    Route("/v1/inbox/{id}/replay", replay, methods=["POST"]),
]
