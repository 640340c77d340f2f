"""The control API on the Unix socket: the only way the CLI and the console reach the daemon."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..bus import Event
from ..clock import isoformat, parse_time
from ..config import ConfigError, parse_duration
from ..db import Database, event_log
from ..log import LEVELS
from . import consent_api, inbox_api, integrations_api, routes_api, stores_api, syncs_api
from .errors import ApiError, exception_handlers
from .sse import event_stream, sse
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components

# Events one request may ask for: the bus's ring first, then the event_log table.
BACKLOG_MAX = 100_000
TIME_FORMS = "an ISO-8601 time (2026-11-22T10:00:00Z) or a time ago (90m, 2h, 7d)"


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


def _time_param(request: Request, name: str, now: datetime) -> str | None:
    """An ISO-8601 time, or a duration back from `now`, in our one form (UTC, Z)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    moment = parse_time(raw)
    if moment is None:
        try:
            moment = now - timedelta(seconds=parse_duration(raw, "query", name))
        except (ConfigError, OverflowError):
            raise ApiError(400, f"{name} must be {TIME_FORMS}, got {raw!r}") from None
    return isoformat(moment)


def _dumps(event: Event) -> str:
    return json.dumps(event.as_dict(), ensure_ascii=False, separators=(",", ":"))


def _json_events(
    db: Database, older: event_log.EventQuery, recent: list[Event], keep: Callable[[Event], bool]
) -> StreamingResponse:
    """{"events": [...]} as JSONResponse writes it, read from the table a page at a time."""

    async def body() -> AsyncIterator[str]:
        yield '{"events":['
        comma = ""
        async for page in event_log.pages(db, older):
            chunk = ",".join(_dumps(e) for e in page if keep(e))
            if chunk:
                yield comma + chunk
                comma = ","
        if recent:
            yield comma + ",".join(_dumps(e) for e in recent)
        yield "]}"

    return StreamingResponse(body(), media_type="application/json")


async def log(request: Request) -> Response:
    """The event log: the newest `backlog` events that match, oldest first, from the
    bus's ring and, for what reaches past it (a long backlog, since/until), from the
    event_log table; `follow` then streams new ones (SSE)."""
    level = request.query_params.get("level")
    if level is not None and level not in LEVELS:
        raise ApiError(400, f"level must be one of {', '.join(LEVELS)}")
    integration = request.query_params.get("integration")
    backlog = _int_param(request, "backlog", 100, 0, BACKLOG_MAX)
    after = _int_param(request, "after", 0, 0, 2**62)
    follow = request.query_params.get("follow") in ("1", "true", "yes")
    parts = parts_of(request)
    now = parts.clock.now()
    since = _time_param(request, "since", now)
    until = _time_param(request, "until", now)
    if since is not None and until is not None and since >= until:
        raise ApiError(400, f"since ({since}) must be before until ({until})")
    if follow and until is not None:
        raise ApiError(400, "until cannot be combined with follow (a live stream has no end)")

    def keep(event: Event) -> bool:
        return (
            event_matches(event, level, integration, after)
            and (since is None or event.ts >= since)
            and (until is None or event.ts < until)
        )

    bus = parts.bus
    subscription = bus.subscribe() if follow else None  # before the ring is read: no gap
    ring = bus.recent(BACKLOG_MAX)
    recent = [e for e in ring if keep(e)][-backlog:] if backlog else []
    older: event_log.EventQuery | None = None
    try:
        # The ring holds every event after its first id; older ones are only in the table.
        if len(recent) < backlog and not (ring and ring[0].id <= after + 1):
            levels = tuple(n for n, v in LEVELS.items() if v >= LEVELS[level]) if level else None
            older = await event_log.start_of_newest(
                parts.db,
                event_log.EventQuery(
                    levels, integration, after, ring[0].id if ring else None, since, until
                ),
                backlog - len(recent),
            )
        if subscription is None:
            if older is None:
                return JSONResponse({"events": [e.as_dict() for e in recent]})
            return _json_events(parts.db, older, recent, keep)
        past = [e async for page in event_log.pages(parts.db, older) for e in page] if older else []
    except BaseException:
        if subscription is not None:
            subscription.close()
        raise
    prelude = [*(sse(e) for e in past if keep(e)), *(sse(e) for e in recent), ": live\n\n"]
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
