"""Per-integration rate limiting: the documented limit as a token bucket, adapted to what
the provider says (429 + Retry-After, X-Rate-Limit-*, RateLimit-*, Shopify's call limit).

A rate-limited call is waited out, not failed: `RateLimiter.slot()` sleeps until a request
may go. The arithmetic (`Bucket.reserve`, `hold_seconds`, `parse_limit`) is pure and takes
time as an argument, so tests drive it with tables instead of sleeping.
"""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from ..clock import Clock, SystemClock

UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
BACKOFF_CAP = 60.0  # 429s without a hint back off 1, 2, 4 … s, up to this
MAX_HOLD = 3600.0  # never believe a header asking us to stop for more than an hour
USE_WINDOW = 60.0  # "current use" counts the requests let through in this many seconds


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: float
    burst: int = 1  # bucket size: 1 paces evenly, so a fixed window is never overrun
    concurrency: int | None = None  # max requests in flight (Mailchimp: 10)

    @property
    def rate(self) -> float:
        return self.requests / self.per_seconds

    @property
    def bucket(self) -> int:
        return max(1, self.burst)

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.per_seconds)
        text = f"{self.requests}/{unit}" if unit else f"{self.requests}/{self.per_seconds:g}s"
        return text + (f", {self.concurrency} at once" if self.concurrency else "")


def parse_limit(text: str, concurrency: int | None = None) -> Limit | None:
    """'400/min', '2/s', '3600/h' -> Limit; 'none' -> None. ValueError says what is wrong."""
    value = text.strip().lower()
    if value in ("none", "off", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)", value)
    if not match or match.group(3) not in UNITS or int(match.group(1)) < 1:
        raise ValueError(
            f"rate limit must look like 400/min, 2/s or 3600/h (or none), got {text!r}"
        )
    per = UNITS[match.group(3)] * (int(match.group(2)) if match.group(2) else 1)
    return Limit(int(match.group(1)), per, concurrency=concurrency)


@dataclass
class Bucket:
    """A token bucket that hands out reservations: `reserve` says how long to wait."""

    limit: Limit
    tokens: float
    updated: float
    held_until: float = 0.0

    @classmethod
    def full(cls, limit: Limit, now: float) -> Bucket:
        return cls(limit, float(limit.bucket), now)

    def reserve(self, now: float) -> float:
        """Take one token; seconds until it may be used (0 when available now)."""
        start = max(now, self.held_until)
        if start > self.updated:
            self.tokens = min(
                float(self.limit.bucket), self.tokens + (start - self.updated) * self.limit.rate
            )
            self.updated = start
        self.tokens -= 1
        debt = max(0.0, -self.tokens) / self.limit.rate
        return (start - now) + debt

    def hold(self, until: float) -> None:
        """The provider asked us to stop until `until`; nothing saved up survives a hold."""
        if until > self.held_until:
            self.held_until = until
            self.tokens = min(self.tokens, 1.0)
            self.updated = max(self.updated, until)  # nothing accrues while held


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.split(",")[0].strip())
    except ValueError:
        return None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def hold_seconds(
    status: int, headers: Mapping[str, str], now: datetime, unhinted: int = 0
) -> float | None:
    """How long the provider asks us to pause, judging by one response; None: no pause.

    `unhinted` counts the 429s without any hint just before this one: such 429s back
    off exponentially. `headers` must be case-insensitive (httpx.Headers is).
    """
    reset = _number(_header(headers, "x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"))
    if status == 429:
        wait = retry_after_seconds(headers.get("retry-after"), now)
        wait = wait if wait is not None else reset
        if wait is None:
            return min(BACKOFF_CAP, 2.0**unhinted)
        return min(MAX_HOLD, max(wait, 0.5))
    remaining = _number(
        _header(headers, "x-rate-limit-remaining", "ratelimit-remaining", "x-ratelimit-remaining")
    )
    if remaining is not None and remaining <= 0 and reset is not None and reset > 0:
        return min(MAX_HOLD, reset)
    shopify = headers.get("x-shopify-shop-api-call-limit")
    if shopify and "/" in shopify:
        used, _, size = shopify.partition("/")
        if used.strip().isdigit() and size.strip().isdigit() and int(used) >= int(size) - 1:
            return 1.0  # the bucket is full; Shopify drains it at 2/s
    return None


class RateLimiter:
    """One per integration (and per store): isolation means no shared limiter, ever."""

    def __init__(self, limit: Limit | None, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.limit = limit
        self._bucket = Bucket.full(limit, self.clock.monotonic()) if limit else None
        self._held_until = 0.0
        self._in_flight = (
            asyncio.Semaphore(limit.concurrency) if limit and limit.concurrency else None
        )
        self.throttled = 0  # 429s seen, for status and benchmarks
        self._unhinted = 0  # consecutive 429s that said nothing about when to come back
        self.waiting = 0  # requests waiting for their turn now
        # Requests let through, per whole second (second, count), over the last window.
        self._sent: collections.deque[list[int]] = collections.deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._in_flight is None:
            await self._wait_turn()
            yield
            return
        async with self._in_flight:
            await self._wait_turn()
            yield

    async def _wait_turn(self) -> None:
        now = self.clock.monotonic()
        if self._bucket is not None:
            wait = self._bucket.reserve(now)
        else:
            wait = max(0.0, self._held_until - now)
        if wait > 0:
            self.waiting += 1
            try:
                await asyncio.sleep(wait)
            finally:
                self.waiting -= 1
        self._count(now + wait)

    def _count(self, at: float) -> None:
        second = int(at)
        if self._sent and self._sent[-1][0] == second:
            self._sent[-1][1] += 1
        else:
            self._sent.append([second, 1])
        self._forget(at)

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0][0] <= now - USE_WINDOW:
            self._sent.popleft()

    def usage(self) -> dict[str, float | int | str]:
        """What the operator asks when a sync crawls: the limit, how much of it the last
        minute used, how many requests wait for a turn, and whether the provider told us
        to stop."""
        now = self.clock.monotonic()
        self._forget(now)
        return {
            "limit": str(self.limit) if self.limit else "none",
            "sent_last_minute": sum(count for _, count in self._sent),
            "per_minute": round(self.limit.rate * 60) if self.limit else 0,
            "waiting": self.waiting,
            "held_for": round(self.held_for(), 1),
            "throttled": self.throttled,
        }

    def held_for(self) -> float:
        """Seconds until the provider's last "stop" expires (0 when not held)."""
        return max(0.0, self._held_until - self.clock.monotonic())

    def observe(self, status: int, headers: Mapping[str, str]) -> float | None:
        """Adapt to one response; returns the hold it imposed, if any."""
        hold = hold_seconds(status, headers, self.clock.now(), self._unhinted)
        if status == 429:
            self.throttled += 1
            hinted = any(
                h in headers
                for h in (
                    "retry-after",
                    "x-rate-limit-reset",
                    "ratelimit-reset",
                    "x-ratelimit-reset",
                )
            )
            self._unhinted = 0 if hinted else self._unhinted + 1
        else:
            self._unhinted = 0
        if hold is None:
            return None
        until = self.clock.monotonic() + hold
        if self._bucket is not None:
            self._bucket.hold(until)
        self._held_until = max(self._held_until, until)
        return hold
