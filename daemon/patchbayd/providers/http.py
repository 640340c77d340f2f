"""The one way providers (and stores) talk HTTP: timeouts, rate limits, error mapping.

Every outgoing request goes through `ProviderHttp.request`, which waits for a rate-limit
slot, waits out 429s (a rate-limited call is slow, not failed), and turns transport
trouble into `Transient`. Status codes are mapped by `raise_for_status`, with the
provider's own message extracted by the caller. Any text that reaches an exception is
scrubbed of the integration's secrets first.

Each exchange is reported to an `HttpObserver` (the daemon's metrics, see
patchbayd.metrics): the one given to the client, else the module's `OBSERVER`, which
the service sets; with neither, nothing is counted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

import httpx

from .errors import AuthFailed, RateLimited, Rejected, Transient
from .ratelimit import RateLimiter

DEFAULT_TIMEOUT = 10.0
# A caller's own bound on each HTTP exchange (a route's attempt timeout). It bounds the
# exchange only: waiting for a rate-limit slot or out a 429 is not the provider failing
# to answer, and must not burn a delivery's attempts.
EXCHANGE_TIMEOUT: ContextVar[float | None] = ContextVar("exchange_timeout", default=None)
MAX_RATE_WAITS = 30  # consecutive 429s waited out on one call before it gives up
USER_AGENT = "patchbay"


class HttpObserver(Protocol):
    def exchange(
        self, http: ProviderHttp, status: int | None, seconds: float, waited: float
    ) -> None:
        """One request sent: its status (None: no answer), its time, the rate-limit wait."""

    def failed(self, http: ProviderHttp, kind: str) -> None:
        """A call ends in an error of `kind` (auth, rejected, transient, timeout ...)."""


OBSERVER: HttpObserver | None = None  # the daemon's metrics, set by the service


def encode_json(body: Any, name: str) -> bytes:
    """The body as strict JSON; a value no JSON can carry (NaN, a lone surrogate) is this
    one request's problem (Rejected), never an exception that stops an engine's loop."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, TypeError) as exc:
        raise Rejected(f"{name}: the payload cannot be sent as JSON ({str(exc)[:80]})") from None


class ProviderHttp:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        limiter: RateLimiter,
        secrets: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: HttpObserver | None = None,
    ) -> None:
        self.name = name
        self.observer = observer
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout = timeout
        self._secrets = [s for s in secrets if s]
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            auth=auth,
            transport=transport,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=False,
        )

    def _observed(
        self, queued: float, sent: float, status: int | None, failed: str | None = None
    ) -> None:
        observer = self.observer or OBSERVER
        if observer is not None:
            observer.exchange(self, status, time.monotonic() - sent, sent - queued)
            if failed:
                observer.failed(self, failed)

    def _failed(self, kind: str) -> None:
        observer = self.observer or OBSERVER
        if observer is not None:
            observer.failed(self, kind)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send once (plus as many 429 waits as it takes); never raises httpx errors."""
        if json_body is not None:
            content = encode_json(json_body, self.name)
            headers = {"Content-Type": "application/json", **(headers or {})}
        timeout = EXCHANGE_TIMEOUT.get() or self.timeout
        for _ in range(MAX_RATE_WAITS):
            queued = time.monotonic()
            async with self.limiter.slot():
                sent = time.monotonic()
                try:
                    response = await self._client.request(
                        method,
                        path,
                        params=params,
                        headers=headers,
                        content=content,
                        timeout=timeout,
                    )
                except httpx.TimeoutException as exc:
                    self._observed(queued, sent, None, "timeout")
                    raise Transient(
                        f"{self.name} did not answer within {timeout:g} s",
                        maybe_delivered=not isinstance(exc, httpx.ConnectTimeout),
                    ) from None
                except httpx.HTTPError as exc:
                    self._observed(queued, sent, None, "unreachable")
                    reason = self.scrub(str(exc) or type(exc).__name__)
                    raise Transient(
                        f"{self.name} is unreachable: {reason}",
                        maybe_delivered=not isinstance(exc, httpx.ConnectError),
                    ) from None
            self._observed(queued, sent, response.status_code)
            hold = self.limiter.observe(response.status_code, response.headers)
            if response.status_code != 429:
                return response
        self._failed("rate_limited")
        raise RateLimited(f"{self.name} kept answering 429 (rate limited)", hold or 60.0)

    def json(self, response: httpx.Response) -> Any:
        """The body as JSON; a garbled body is the provider's fault, so Transient."""
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._failed("malformed")
            raise Transient(
                f"{self.name} sent a malformed response (HTTP {response.status_code}, not JSON)"
            ) from None

    def raise_for_status(
        self, response: httpx.Response, message: Callable[[Any], str | None]
    ) -> None:
        """Map an error status to the taxonomy, with the provider's own words."""
        status = response.status_code
        if status < 400:
            return
        try:
            detail = message(response.json()) if response.content else None
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            detail = None
        reason = self.scrub(
            f"{self.name}: {detail or response.reason_phrase or 'error'} (HTTP {status})"
        )
        if status in (401, 403):
            self._failed("auth")
            raise AuthFailed(reason)
        if status == 408 or status >= 500:
            self._failed("transient")
            raise Transient(reason)
        self._failed("rejected")
        raise Rejected(reason)

    @property
    def closed(self) -> bool:
        return self._client.is_closed

    async def aclose(self) -> None:
        await self._client.aclose()
