"""The baseline for the ingest benchmark: the same server stack (uvicorn + Starlette) with
an endpoint that answers 202 and stores nothing. Prints its port, then serves.

    python -m tests.bench.bare_server
"""

from __future__ import annotations

import json
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def ingest(request: Request) -> Response:
    json.loads(await request.body())  # parse like the real endpoint, then forget it
    return JSONResponse({"accepted": 1}, status_code=202)


app = Starlette(routes=[Route("/ingest/{store}/{kind}", ingest, methods=["POST"])])

if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # NODELAY
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")).run(
        sockets=[sock]
    )
