"""The public TCP listener: health, metrics, webhooks and ingest (and later callbacks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..log import Logger
from . import inbound
from .errors import error_response, exception_handlers

if TYPE_CHECKING:
    from ..metrics import Metrics
    from ..service import Service


class CountRequests:
    """Counts every request by its route template (not its raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            # The router notes the route it matched in the scope; no second matching here.
            route = scope.get("route")
            template = str(getattr(route, "path", "unmatched")) if route else "unmatched"
            self.metrics.requests.labels(template, str(status[0])).inc()


class ContainErrors:
    """The last word on a request that raised: a JSON 500 in the one error shape, and a
    log line with the route and the error's kind only. Starlette's own handler would
    re-raise to uvicorn, whose log carries the exception's repr, and a repr can hold a
    whole customer payload."""

    def __init__(self, app: ASGIApp, log: Logger) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = [False]

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            route = scope.get("route")
            self.log.error("request failed", route=str(getattr(route, "path", "unmatched")),
                           error=type(exc).__name__)
            if not started[0]:
                await error_response(500, "internal error")(scope, receive, send)


def build(service: Service) -> Starlette:
    async def healthz(request: Request) -> Response:
        if await service.db.healthy():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "reason": "database unusable"},
                            status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        *inbound.routes(service),
    ]
    app = Starlette(routes=routes, exception_handlers=exception_handlers)
    app.add_middleware(ContainErrors, log=Logger(service.sink, "public"))
    app.add_middleware(CountRequests, metrics=service.metrics)  # outermost: counts the 500s
    return app
