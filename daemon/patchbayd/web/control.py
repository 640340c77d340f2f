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
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components

BACKLOG_MAX = 1000


def event_matches(event: Event, level: str | None, integration: str | None, after: int = 0) -> bool:
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


async def status(request: Request) -> Response:
    return JSONResponse(await parts_of(request).status())


async def log(request: Request) -> Response:
    level = request.query_params.get("level")
    if level is not None and level not in LEVELS:
        raise ApiError(400, f"level must be one of {', '.join(LEVELS)}")
    integration = request.query_params.get("integration")
    backlog = _int_param(request, "backlog", 100, 0, BACKLOG_MAX)
    after = _int_param(request, "after", 0, 0, 2**62)
    follow = request.query_params.get("follow") in ("1", "true", "yes")
    bus = parts_of(request).bus
    if not follow:
        events = [e for e in bus.recent(BACKLOG_MAX) if event_matches(e, level, integration, after)]
        return JSONResponse({"events": [e.as_dict() for e in events[-backlog:] if backlog]})

    subscription = bus.subscribe()  # before the backlog is read: no gap between them
    past = [e for e in bus.recent(BACKLOG_MAX) if event_matches(e, level, integration, after)]

    prelude = [*(sse(e) for e in (past[-backlog:] if backlog else [])), ": live\n\n"]
    return event_stream(
        subscription, prelude, lambda event: event_matches(event, level, integration)
    )


async def not_found(request: Request) -> Response:
    raise ApiError(404, f"no such endpoint: {request.method} {request.url.path}")


ROUTES = [
    Route("/v1/status", status),
    Route("/v1/log", log),
    *integrations_api.ROUTES,
    *stores_api.ROUTES,
    *syncs_api.ROUTES,
    *consent_api.ROUTES,
    *inbox_api.ROUTES,
    *routes_api.ROUTES,
    Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]


def build(parts: Components) -> Starlette:
    app = Starlette(routes=ROUTES, exception_handlers=exception_handlers)
    app.state.parts = parts
    app.state.examples = routes_api.examples()  # package data: read once, when built
    return app
