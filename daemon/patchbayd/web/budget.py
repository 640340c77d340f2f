"""A bound on request-body bytes being read and parsed at once, across all requests.

A 1 MiB JSON body becomes many times that as Python objects, so 64 concurrent large
bodies took the daemon past 1.6 GB. Each request reserves its size (declared, or the
body limit when undeclared) before reading and holds it until it is answered; a request
that does not fit waits in line, and one that waits too long gets 503 with Retry-After,
which every sane sender retries. Memory then scales with the budget, not the load.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class OverBudget(Exception):
    """No room for this body within the wait: answer 503 and let the sender retry."""


class BodyBudget:
    def __init__(self, limit: int, wait: float = 10.0) -> None:
        self.limit, self.wait = limit, wait
        self.used = 0
        self._freed = asyncio.Condition()

    @asynccontextmanager
    async def reserve(self, size: int) -> AsyncIterator[None]:
        size = min(size, self.limit)  # one body larger than the budget still gets through
        async with self._freed:
            try:
                await asyncio.wait_for(
                    self._freed.wait_for(lambda: self.used + size <= self.limit), self.wait
                )
            except TimeoutError:
                raise OverBudget(f"busy: {self.used} body bytes in flight") from None
            self.used += size
        try:
            yield
        finally:
            async with self._freed:
                self.used -= size
                self._freed.notify_all()
