"""Which stores have new data: many notify (after each commit), one loop follows."""

from __future__ import annotations

import asyncio


class StoreChanges:
    def __init__(self) -> None:
        self._stores: set[str] = set()
        self._event = asyncio.Event()

    def notify(self, stores: set[str]) -> None:
        self._stores |= stores
        self._event.set()

    async def next(self) -> set[str]:
        """The stores changed since the last call (waits until there is at least one)."""
        await self._event.wait()
        self._event.clear()
        changed, self._stores = self._stores, set()
        return changed
