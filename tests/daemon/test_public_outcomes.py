"""A public request that raises: the JSON error shape, counted, and no payload in the log."""

from __future__ import annotations

import io

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchbayd.log import Logger, LogSink
from patchbayd.metrics import Metrics
from patchbayd.web.public import Outcomes

pytestmark = pytest.mark.anyio


async def test_a_request_that_raises_is_a_json_500_and_logs_no_payload() -> None:
    async def explode(request: Request) -> Response:
        payload = (await request.body()).decode()
        raise UnicodeEncodeError("utf-8", payload, 0, 1, "surrogates not allowed")

    stream = io.StringIO()
    sink = LogSink(stream=stream)
    metrics = Metrics(lambda: 0.0, sink.counts)
    app = Starlette(routes=[Route("/ingest/{store}", explode, methods=["POST"])])
    app.add_middleware(Outcomes, metrics=metrics, log=Logger(sink, "public"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post("/ingest/demo", content=b"SECRET-CUSTOMER-DATA")
    assert answer.status_code == 500
    assert answer.json() == {"error": {"code": "internal", "message": "internal error"}}
    log = stream.getvalue()
    assert "request failed" in log and "UnicodeEncodeError" in log
    assert "SECRET-CUSTOMER-DATA" not in log
    assert 'route="/ingest/{store}",status="500"' in metrics.render().decode()
