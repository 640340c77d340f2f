"""The control API on the Unix socket: the only way the CLI and the console reach the daemon."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..bus import Event
from ..log import LEVELS
from . import consent_api, inbox_api, integrations_api, routes_api, stores_api, syncs_api
from .errors import ApiError, exception_handlers
from .sse import event_stream, sse

if TYPE_CHECKING:
    from ..components import Components

BACKLOG_MAX = 1000


def event_matches(event: Event, level: str | None, integration: str | None,
                  after: int = 0) -> bool:
    if event.id <= after:
        return False
    if level and LEVELS.get(event.level, 0) < LEVELS[level]:
        return False
    return not integration or str(event.fields.get("integration")) == integration


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def build(parts: Components) -> Starlette:
    async def status(request: Request) -> Response:
        return JSONResponse(await parts.status())

    async def log(request: Request) -> Response:
        level = request.query_params.get("level")
        if level is not None and level not in LEVELS:
            raise ApiError(400, f"level must be one of {', '.join(LEVELS)}")
        integration = request.query_params.get("integration")
        backlog = _int_param(request, "backlog", 100, 0, BACKLOG_MAX)
        after = _int_param(request, "after", 0, 0, 2**62)
        follow = request.query_params.get("follow") in ("1", "true", "yes")
        bus = parts.bus
        if not follow:
            events = [e for e in bus.recent(BACKLOG_MAX)
                      if event_matches(e, level, integration, after)]
            return JSONResponse({"events": [e.as_dict() for e in events[-backlog:] if backlog]})

        subscription = bus.subscribe()  # before the backlog is read: no gap between them
        past = [e for e in bus.recent(BACKLOG_MAX) if event_matches(e, level, integration, after)]

        prelude = [*(sse(e) for e in (past[-backlog:] if backlog else [])), ": live\n\n"]
        return event_stream(subscription, prelude,
                            lambda event: event_matches(event, level, integration))

    async def not_found(request: Request) -> Response:
        raise ApiError(404, f"no such endpoint: {request.method} {request.url.path}")

    routes = [
        Route("/v1/status", status),
        Route("/v1/log", log),
        *integrations_api.routes(parts),
        *stores_api.routes(parts),
        *syncs_api.routes(parts),
        *consent_api.routes(parts),
        *inbox_api.routes(parts),
        *routes_api.routes(parts),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return Starlette(routes=routes, exception_handlers=exception_handlers)
