"""The public TCP listener: health, metrics, webhooks and ingest (and later callbacks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..log import Logger
from . import intake_api
from .errors import error_response, exception_handlers
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components
    from ..metrics import Metrics


class Outcomes:
    """Every request counted by its route template (bounded labels, not raw paths) and
    status; one that raised gets the JSON 500 of the one error shape and a log line with
    its route and the error's kind only. Starlette's own handler re-raised to uvicorn,
    whose log line carried the exception's repr, and a repr can hold a whole payload."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log: Logger) -> None:
        self.app, self.metrics, self.log = app, metrics, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int | None] = [None]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        except Exception as exc:
            self.log.error("request failed", route=_template(scope), error=type(exc).__name__)
            if status[0] is None:
                await error_response(500, "internal error")(scope, receive, send)
                status[0] = 500
        finally:
            # The router notes the route it matched in the scope; no second matching here.
            self.metrics.requests.labels(_template(scope), str(status[0] or 500)).inc()


def _template(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched")) if route else "unmatched"


async def healthz(request: Request) -> Response:
    if await parts_of(request).db.healthy():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "reason": "database unusable"}, status_code=503)


async def readyz(request: Request) -> Response:
    """Ready: every store reachable, every integration working; else 503 with why."""
    reasons = await parts_of(request).readiness()
    if not reasons:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "degraded", "reasons": reasons}, status_code=503)


async def metrics(request: Request) -> Response:
    parts = parts_of(request)
    await parts.refresh_metrics()
    return Response(parts.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES: list[BaseRoute] = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
    *intake_api.ROUTES,
]


def build(parts: Components) -> Starlette:
    app = Starlette(routes=ROUTES, exception_handlers=exception_handlers)
    app.state.parts = parts
    app.state.gate = intake_api.Gate.of(parts)  # this app's body budget, refusal sampler
    app.add_middleware(Outcomes, metrics=parts.metrics, log=Logger(parts.sink, "public"))
    return app
