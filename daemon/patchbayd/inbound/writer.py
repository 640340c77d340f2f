"""Group commit for the inbox: many concurrent requests, one transaction.

Each request hands its rows over and waits; the writer takes everything queued at that
moment, commits it in one transaction and wakes them all. A request is answered only
after its rows are committed, yet a busy listener pays one commit per batch instead of
one per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ..clock import Clock, isoformat
from ..db import Database
from ..db import inbox as inbox_rows
from ..db.inbox import Incoming

MAX_BATCH = inbox_rows.ROWS_PER_STATEMENT  # one atomic statement per commit


class InboxWriter:
    def __init__(self, db: Database, clock: Clock, on_commit: Callable[[], None]) -> None:
        self.db, self.clock = db, clock
        self.on_commit = on_commit
        self._queue: asyncio.Queue[tuple[Sequence[Incoming], asyncio.Future[None]]] = (
            asyncio.Queue())

    async def add(self, rows: Sequence[Incoming]) -> None:
        """Returns once the rows are committed; raises what the commit raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((rows, done))
        await done

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0])
            while size < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                size += len(batch[-1][0])
            try:
                await inbox_rows.append(self.db, [row for rows, _ in batch for row in rows],
                                        isoformat(self.clock.now()))
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            self.on_commit()
