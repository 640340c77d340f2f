"""The public TCP listener: health, metrics, webhooks and ingest (and later callbacks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import inbound
from .errors import exception_handlers

if TYPE_CHECKING:
    from ..metrics import Metrics
    from ..service import Service


class CountRequests:
    """Counts every request by its route template (not its raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute], metrics: Metrics) -> None:
        self.app, self.routes, self.metrics = app, routes, metrics

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path", "other"))
        return "unmatched"

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
            self.metrics.requests.labels(self._template(scope), str(status[0])).inc()


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
    app.add_middleware(CountRequests, routes=routes, metrics=service.metrics)
    return app
