"""A fixed 60-second request window, the simplest limit that still makes clients honour
Retry-After: a client that retries at once keeps failing until the window ends."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..clock import Clock

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # whole seconds until the window ends, at least 1


class RateWindow:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._start: float | None = None
        self._used = 0

    def reset(self) -> None:
        self._start, self._used = None, 0

    def take(self, limit: int) -> tuple[bool, Quota]:
        """Spend one request of the window; False when the window is already used up."""
        now = self._clock.monotonic()
        if self._start is None or now - self._start >= WINDOW_SECONDS:
            self._start, self._used = now, 0
        allowed = self._used < limit
        if allowed:
            self._used += 1
        left = max(1, math.ceil(self._start + WINDOW_SECONDS - now))
        return allowed, Quota(limit, max(0, limit - self._used), left)
