"""Serving the sandbox on a loopback port.

The socket is bound here, before uvicorn starts, so port 0 works and the caller learns
the real address; `ready` is called only once uvicorn accepts connections.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import uvicorn

from ..config import Listen
from ..listeners import bind_tcp, bound_port
from .app import build


def serve(host: str, port: int, *, ready: Callable[[str], None] | None = None) -> None:
    """Serve until uvicorn is told to stop (SIGTERM/SIGINT when run in the main thread).

    Raises listeners.ListenError when the address cannot be bound.
    """
    sock = bind_tcp(Listen(host, port))
    url = f"http://{Listen(host, bound_port(sock))}"
    try:
        asyncio.run(_serve(sock, url, ready))
    finally:
        sock.close()


async def _serve(sock: socket.socket, url: str, ready: Callable[[str], None] | None) -> None:
    server = uvicorn.Server(
        uvicorn.Config(
            build(), lifespan="off", log_config=None, access_log=False, server_header=False
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn exposes `started` only as a flag, so there is no event to wait on.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    if server.started and ready is not None:
        ready(url)
    await task
