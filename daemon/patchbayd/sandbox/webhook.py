"""A generic webhook receiver below /webhook, the far end of the `webhook` provider.

It records what arrived (headers included, so signatures can be checked) and answers
200, unless a fault knob says otherwise.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ..clock import Clock, isoformat
from .system import Call, Dialect, Endpoint, System
from .window import Quota

PREFIX = "/webhook"


def error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def authenticate(call: Call) -> Response | None:
    return None  # a receiver verifies signatures itself; tests read them from the state


def throttled(retry_after: int) -> Response:
    return error(429, "Too many requests")


def rate_headers(quota: Quota | None) -> dict[str, str]:
    if quota is None:
        return {}
    return {
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": str(quota.reset),
    }


DIALECT = Dialect(error, authenticate, throttled, rate_headers)


class WebhookState:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.received: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.received.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"received": list(self.received)}


def create(clock: Clock) -> System[WebhookState]:
    return System("webhook", WebhookState(clock), DIALECT, clock)


def endpoints(system: System[WebhookState]) -> list[Endpoint]:
    state = system.state

    async def receive(call: Call) -> Response:
        body = await call.json()
        state.received.append(
            {
                "name": call.request.path_params["name"],
                "headers": dict(call.request.headers),
                "body": body,
                "received_at": isoformat(state.clock.now()),
            }
        )
        return JSONResponse({"ok": True})

    return [Endpoint("POST", "/{name}", receive)]
