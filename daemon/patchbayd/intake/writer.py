"""Group commit for the inbox: many concurrent requests, one transaction.

Each request hands its rows over and waits; the writer takes everything queued at that
moment, commits it in one transaction and wakes them all. A request is answered only
after its rows are committed, yet a busy listener pays one commit per batch instead of
one per request. A request whose rows cannot be stored fails alone: the batch is retried
request by request, so one bad body never costs the good ones sent beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ..clock import Clock, isoformat
from ..db import Database
from ..db import inbox as inbox_rows
from ..db.database import UNAVAILABLE
from ..db.inbox import Incoming

MAX_BATCH = inbox_rows.ROWS_PER_STATEMENT  # one atomic statement per commit


class InboxWriter:
    def __init__(self, db: Database, clock: Clock, on_commit: Callable[[], None]) -> None:
        self.db, self.clock = db, clock
        self.on_commit = on_commit
        self._queue: asyncio.Queue[tuple[Sequence[Incoming], asyncio.Future[None]]] = (
            asyncio.Queue()
        )

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
                await self._append([row for rows, _ in batch for row in rows])
            except UNAVAILABLE as exc:  # the database itself: all fail alike
                for _, done in batch:
                    _settle(done, exc)
                continue
            except Exception:
                # One request's rows cannot be stored: retry each request on its own, so
                # only the bad one fails and the good ones (other stores') still commit.
                for rows, done in batch:
                    try:
                        await self._append(rows)
                    except Exception as exc:
                        _settle(done, exc)
                    else:
                        _settle(done, None)
                self.on_commit()
                continue
            for _, done in batch:
                _settle(done, None)
            self.on_commit()

    async def _append(self, rows: Sequence[Incoming]) -> None:
        await inbox_rows.append(self.db, rows, isoformat(self.clock.now()))


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return  # the request went away (client gone); nothing to tell
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
