"""One simulated system: its state, knobs, counters, and the fault pipeline every request
to it passes through.

The pipeline order (down, latency, auth, rate limit, error_rate, handler) mirrors where a
real provider fails: an outage answers before anything else, a slow network delays even a
rejected key, and a throttled request never reaches the handler. Everything that differs
between providers (error envelopes, auth, rate-limit headers) comes from the system's
Dialect, so the pipeline stays the same for all of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Generic, Protocol, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, compile_path

from ..clock import Clock
from .counts import Counts
from .faults import Faults, Knob
from .window import Quota, RateWindow

KEY_PREFIX = "sandbox-"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


class State(Protocol):
    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=State)


class BadRequest(Exception):
    """A request the provider would refuse before looking at it (unparsable body)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Dialect:
    """How one provider speaks: what it answers on errors, auth failures and throttling."""

    error: Callable[[int, str], Response]
    authenticate: Callable[[Call], Awaitable[Response | None]]
    throttled: Callable[[int], Response]  # argument: seconds until the window ends
    rate_headers: Callable[[Quota | None], dict[str, str]]  # added to every answer
    max_in_flight: int | None = None  # concurrent requests beyond this answer 429


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Callable[[Call], Awaitable[Response]]


class Call:
    """One request as a handler sees it, with the system's knobs and counters at hand."""

    def __init__(self, request: Request, system: System[Any], template: str) -> None:
        self.request, self.system, self.template = request, system, template
        self._body: Any = None
        self._parsed = False

    @property
    def faults(self) -> Faults:
        return self.system.faults

    def key_ok(self, key: str | None) -> bool:
        return (
            key is not None
            and key.startswith(KEY_PREFIX)
            and key not in self.system.faults.revoked_keys
        )

    def job_ready_at(self) -> float:
        """When a job submitted now may report done (the job_latency_ms fault)."""
        return self.system.clock.monotonic() + self.system.faults.job_latency_ms / 1000

    def job_done(self, ready_at: float) -> bool:
        return self.system.clock.monotonic() >= ready_at

    def count_items(self, count: int) -> None:
        self.system.counts.items[self.template] += count

    async def json(self) -> Any:
        if not self._parsed:
            raw = await self.request.body()
            try:
                self._body = json.loads(raw) if raw.strip() else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise BadRequest("request body is not valid JSON") from None
            self._parsed = True
        return self._body

    async def json_object(self) -> dict[str, Any]:
        body = await self.json()
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        return body


class System(Generic[S]):
    def __init__(
        self,
        name: str,
        state: S,
        dialect: Dialect,
        clock: Clock,
        knobs: Mapping[str, Knob] | None = None,
    ) -> None:
        self.name, self.state, self.dialect, self.clock = name, state, dialect, clock
        self.knobs: Mapping[str, Knob] = knobs or {}
        self.faults = Faults()
        self.window = RateWindow(clock)
        self.counts = Counts()
        self.rng = random.Random(self._seed)  # noqa: S311 - repeatable faults, not crypto
        self._in_flight = 0

    @property
    def _seed(self) -> str:
        return f"sandbox:{self.name}"

    def reset(self) -> None:
        self.state.reset()
        self.faults = Faults()
        self.window.reset()
        self.counts.reset()
        self.rng.seed(self._seed)

    def faults_dict(self) -> dict[str, Any]:
        return self.faults.as_dict(self.knobs)

    def snapshot(self) -> dict[str, Any]:
        return {
            "system": self.name,
            "faults": self.faults_dict(),
            **self.counts.snapshot(),
            **self.state.snapshot(),
        }

    def mount(self, prefix: str, endpoints: list[Endpoint]) -> Mount:
        routes: list[BaseRoute] = [self._route(endpoint) for endpoint in endpoints]

        async def unknown(request: Request) -> Response:
            return self.dialect.error(404, "Not Found")

        routes.append(Route("/{path:path}", unknown, methods=ALL_METHODS))
        return Mount(prefix, routes=routes)

    def _route(self, endpoint: Endpoint) -> Route:
        template = f"{endpoint.method} {compile_path(endpoint.path)[1]}"

        async def run(request: Request) -> Response:
            return await self._handle(endpoint, Call(request, self, template))

        return Route(endpoint.path, run, methods=[endpoint.method])

    async def _handle(self, endpoint: Endpoint, call: Call) -> Response:
        self.counts.requests[call.template] += 1
        self._in_flight += 1
        crowded = (
            self.dialect.max_in_flight is not None and self._in_flight > self.dialect.max_in_flight
        )
        try:
            response, quota = await self._pipeline(endpoint, call, crowded)
        finally:
            self._in_flight -= 1
        self.counts.statuses[str(response.status_code)] += 1
        response.headers.update(self.dialect.rate_headers(quota))
        if self.faults.malformed and 200 <= response.status_code < 300 and response.body:
            response = _truncated(response)
        return response

    async def _pipeline(
        self, endpoint: Endpoint, call: Call, crowded: bool
    ) -> tuple[Response, Quota | None]:
        faults = self.faults
        if faults.down:
            return self.dialect.error(503, "Service Unavailable"), None
        if faults.latency_ms:
            await anyio.sleep(faults.latency_ms / 1000)
        try:
            rejected = await self.dialect.authenticate(call)
            if rejected is not None:
                return rejected, None
            quota = None
            if faults.rate_limit_per_min is not None:
                allowed, quota = self.window.take(faults.rate_limit_per_min)
                if not allowed:
                    return self._throttled(quota.reset), quota
            if crowded:
                return self._throttled(1), quota
            if faults.error_rate and self.rng.random() < faults.error_rate:
                status = faults.error_status
                return self.dialect.error(status, _PHRASES.get(status, "Error")), quota
            return await endpoint.handler(call), quota
        except BadRequest as exc:
            return self.dialect.error(exc.status, exc.message), None

    def _throttled(self, retry_after: int) -> Response:
        response = self.dialect.throttled(retry_after)
        response.headers["Retry-After"] = str(retry_after)
        return response


def _truncated(response: Response) -> Response:
    """The same answer cut in half, as a dropped connection or a broken proxy leaves it."""
    body = bytes(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        body[: len(body) // 2],
        status_code=response.status_code,
        headers=headers,
        background=response.background,
    )
