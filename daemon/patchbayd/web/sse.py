"""Server-Sent Events from the bus: the one streaming shape of the control API.

The caller subscribes *before* reading whatever it sends first (backlog, snapshot), so
nothing published in between is missed; keep-alive comments hold idle proxies open, and
the stream ends when the bus closes (daemon stopping).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable

from starlette.responses import StreamingResponse

from ..bus import Event, Subscription

KEEPALIVE_SECONDS = 15.0


def sse(event: Event) -> str:
    return f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(event.as_dict())}\n\n"


def event_stream(
    subscription: Subscription, prelude: Iterable[str], keep: Callable[[Event], bool]
) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        try:
            for chunk in prelude:
                yield chunk
            while True:
                try:
                    event = await subscription.next(KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                if keep(event):
                    yield sse(event)
        finally:
            subscription.close()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
