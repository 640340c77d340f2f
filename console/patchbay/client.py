"""Async client for the control API over the Unix socket; the CLI and the TUI share it."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from .paths import discover


class DaemonUnreachable(Exception):
    def __init__(self, socket_path: Path, reason: str) -> None:
        super().__init__(f"cannot reach patchbayd at {socket_path}: {reason}")
        self.socket_path, self.reason = socket_path, reason


class DaemonSlow(Exception):
    """The daemon took the connection but did not answer in time; the work it was asked
    for may still be going on there."""

    def __init__(self, socket_path: Path, what: str, seconds: float) -> None:
        super().__init__(
            f"patchbayd at {socket_path} did not answer {what} within {seconds:g} s; "
            "it may still be doing it (see `patchbay logs`)"
        )
        self.socket_path = socket_path


class ApiFailure(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def socket_path(explicit: str | None = None) -> Path:
    """--socket, else PATCHBAY_SOCKET, else the first default with a daemon there."""
    return Path(explicit or os.environ.get("PATCHBAY_SOCKET") or discover())


def _failure(response: httpx.Response) -> ApiFailure:
    try:
        error = response.json()["error"]
        return ApiFailure(response.status_code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        text = response.text[:200] or response.reason_phrase
        return ApiFailure(response.status_code, "error", text)


class ControlClient:
    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            # Plain HTTP on a Unix socket: no TLS context (loading the CA bundle costs
            # ~25 ms a client, which a console retrying every second pays each time).
            transport=httpx.AsyncHTTPTransport(uds=str(path), verify=False),
            base_url="http://patchbay",
            timeout=timeout,
        )

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        # No query given means the path's own query stands (an empty params dict would
        # replace it: that dropped ?dry_run=1 once).
        query = {k: v for k, v in (params or {}).items() if v is not None} or None
        try:
            response = await self._http.request(method, path, params=query, json=body)
        except httpx.TimeoutException:
            raise DaemonSlow(self.path, f"{method} {path}", self.timeout) from None
        except (httpx.HTTPError, OSError) as exc:
            raise DaemonUnreachable(self.path, _reason(exc)) from None
        if response.status_code >= 400:
            raise _failure(response)
        try:
            return response.json()
        except ValueError:
            raise ApiFailure(
                response.status_code, "bad_answer", "the daemon's answer is not JSON"
            ) from None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, body=body)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def stream(self, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Server-Sent Events from `path`, each `data:` decoded as JSON; ends with the daemon."""
        query = {k: v for k, v in params.items() if v is not None}
        try:
            async with aconnect_sse(
                self._http, "GET", path, params=query, timeout=httpx.Timeout(30.0, read=None)
            ) as source:
                if source.response.status_code >= 400:
                    await source.response.aread()
                    raise _failure(source.response)
                async for sse in source.aiter_sse():
                    if sse.data:  # comment lines (keep-alives) carry no data
                        yield json.loads(sse.data)
        except (httpx.ConnectError, FileNotFoundError, ConnectionRefusedError) as exc:
            raise DaemonUnreachable(self.path, _reason(exc)) from None
        except httpx.TimeoutException:
            raise DaemonSlow(self.path, f"GET {path}", 30.0) from None
        except (httpx.HTTPError, OSError) as exc:
            raise DaemonUnreachable(self.path, "connection closed: " + _reason(exc)) from None
        except json.JSONDecodeError:
            raise ApiFailure(
                200, "bad_answer", "the daemon sent an event that is not JSON"
            ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "No such file" in text or isinstance(exc, FileNotFoundError):
        return "no socket there (is patchbayd running?)"
    if "refused" in text.lower():
        return "connection refused (is patchbayd running?)"
    return text
