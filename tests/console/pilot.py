"""What the console's pilot tests share: waiting for what a screen shows."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 15) -> None:
    """Let the app run until `predicate` holds (an observable state, never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached in time")
