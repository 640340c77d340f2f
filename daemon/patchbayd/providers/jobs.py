"""Waiting for a provider's asynchronous job: Omnisend batches, Klaviyo bulk imports,
Benchmark CSV imports.

A submitted job is asked about again after a growing pause (a quarter second, then
doubling up to five seconds) until it is done or a deadline passes. Asking again at
once, as the first clients did, gave up on any job that takes seconds and had the
whole batch sent again; waiting forever would hold a sync on a job the provider lost.
"""

from __future__ import annotations

from asyncio import sleep
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from ..clock import Clock
from .errors import Transient

T = TypeVar("T")
FIRST_WAIT, MAX_WAIT = 0.25, 5.0
DEADLINE = 600.0  # a job not done in ten minutes is reported, and the batch retried later


def waits(first: float = FIRST_WAIT, cap: float = MAX_WAIT) -> Iterator[float]:
    """The pauses between polls: first, 2 x first, ...  up to cap, then cap for ever."""
    wait = first
    while True:
        yield wait
        wait = min(cap, wait * 2)


async def poll_job(
    check: Callable[[], Awaitable[T | None]], clock: Clock, what: str, *, deadline: float = DEADLINE
) -> T:
    """`check()` until it returns a result (None means still running); Transient, naming
    `what`, when the deadline passes first."""
    give_up = clock.monotonic() + deadline
    pauses = waits()
    while True:
        result = await check()
        if result is not None:
            return result
        left = give_up - clock.monotonic()
        if left <= 0:
            raise Transient(f"{what} did not finish within {deadline:g} s")
        await sleep(min(next(pauses), left))
