"""Several daemons on one PostgreSQL: who is alive, who does which work, word between them.

Every daemon is an equal: each serves its public listener and control socket, and takes a
fair share of the work, held by leases (table `leases`):

- `inbox`: the processor. Rows are applied in inbox order by one writer, because each
  decision reads the rows before it (a consent change judged against the registration
  time, an order status never moved back, the sequence numbers syncs resume from).
- `store:NAME`: a Shopify store's watcher (import, webhooks, reconciliation).
- `integration:ID`: everything sent to that provider account (deliveries, sync runs,
  order exports, consent), so its rate limit is one limiter on one daemon, never
  multiplied by the number of daemons.

A lease is renewed every third of its time. A daemon acts on a lease only until its own
deadline (monotonic clock, taken before the renewal was asked, a fifth short of the
expiry the database set), so one that stops renewing (killed, paused, cut off from the
database) stops acting before the lease expires and another daemon takes it. `token`
grows with every change of holder: the fencing token shown in status.

Word between daemons goes over LISTEN/NOTIFY on channel `patchbay`: log and progress
events (a console on one daemon shows a sync running on another) and wake-ups (work
written by one daemon for the holder of its lease).

On SQLite there is one daemon: `Cluster(shared=False)` holds every lease and writes none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import __version__
from .clock import Clock, isoformat
from .db import Database
from .db.database import Conn
from .log import Logger

CHANNEL = "patchbay"
NOTIFY_LIMIT = 7900  # PostgreSQL refuses a payload of 8000 bytes or more
EVENT_ID_SPAN = 1 << 32  # each start's event ids: seq * span upwards


class LeaseLost(Exception):
    """This daemon no longer holds the lease its work needs: the transaction is undone."""


@dataclass
class Held:
    token: int
    until: float  # our deadline, on the monotonic clock


def daemon_name() -> str:
    """Unique for each start: a restarted daemon is a new member, not the dead one back."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def fair_share(wanted: int, live: int) -> int:
    """How many leases one of `live` daemons should hold so that all are held."""
    return math.ceil(wanted / max(1, live))


def spread(names: Iterable[str], me: str) -> list[str]:
    """Candidate leases in an order of our own, so daemons asking at once mostly ask for
    different ones."""
    return sorted(names, key=lambda n: hashlib.sha256(f"{me}/{n}".encode()).digest())


Changed = Callable[[set[str], set[str]], Awaitable[None]]  # (gained, lost)


class Cluster:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        *,
        shared: bool,
        lease: float,
        listen: str,
        wanted: Callable[[], set[str]],
    ) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.shared = shared
        self.lease = lease
        self.listen = listen
        self.wanted = wanted
        self.name = daemon_name()
        self.seq = 0
        self.held: dict[str, Held] = {}
        self.on_change: Changed | None = None
        self.on_beat: Callable[[], Awaitable[None]] | None = None  # look for work, each beat
        self.running: set[str] = set()  # leases whose work was started here
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        self._outgoing: list[dict[str, Any]] = []
        self._post = asyncio.Event()
        self._poke = asyncio.Event()

    # ---- membership ------------------------------------------------------------------

    async def join(self) -> None:
        """Our row in `daemons` (its seq numbers our event ids)."""
        if not self.shared:
            return
        row = await self.db.fetchone(
            "INSERT INTO daemons (name, host, pid, version, listen, started_at, heartbeat)"
            " VALUES (?, ?, ?, ?, ?, ?, now_epoch()) RETURNING seq",
            (
                self.name,
                socket.gethostname(),
                os.getpid(),
                __version__,
                self.listen,
                isoformat(self.clock.now()),
            ),
        )
        self.seq = int(row[0])

    @property
    def first_event_id(self) -> int:
        return self.seq * EVENT_ID_SPAN

    async def leave(self) -> None:
        """At a clean stop: our leases freed at once (no one waits out their expiry)."""
        if not self.shared:
            return
        self.held.clear()
        await self.settle()
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM leases WHERE holder = ?", (self.name,))
            await conn.execute(
                "UPDATE daemons SET stopped_at = ? WHERE name = ?",
                (isoformat(self.clock.now()), self.name),
            )

    def holds(self, name: str) -> bool:
        if not self.shared:
            return True
        held = self.held.get(name)
        return held is not None and held.until > self.clock.monotonic()

    async def fence(self, conn: Conn, name: str) -> None:
        """Inside a transaction: undo it unless this daemon still holds `name` under the
        token it took it with. The row lock keeps another daemon from taking the lease
        over until the transaction ends, so work is never committed by two holders."""
        if not self.shared:
            return
        held = self.held.get(name)
        cursor = await conn.execute(
            "SELECT 1 FROM leases WHERE name = ? AND holder = ? AND token = ?"
            " AND expires > now_epoch() FOR SHARE",
            (name, self.name, held.token if held else -1),
        )
        if await cursor.fetchone() is None:
            raise LeaseLost(f"lease {name} is no longer held by this daemon")

    def holds_integration(self, integration_id: int) -> bool:
        return self.holds(f"integration:{integration_id}")

    async def members(self) -> list[dict[str, Any]]:
        """The daemons seen in the last few lease times, with what each holds."""
        if not self.shared:
            return [
                {
                    "name": self.name,
                    "self": True,
                    "alive": True,
                    "heartbeat_age": 0.0,
                    "listen": self.listen,
                    "holds": ["everything (SQLite: one daemon)"],
                }
            ]
        rows = await self.db.fetchall(
            "SELECT name, host, pid, version, listen, started_at, now_epoch() - heartbeat,"
            " stopped_at FROM daemons"
            " WHERE stopped_at IS NULL AND heartbeat > now_epoch() - ? ORDER BY seq",
            (self.lease * 4,),
        )
        leases = await self.db.fetchall(
            "SELECT name, holder, token, expires - now_epoch() FROM leases ORDER BY name"
        )
        found = []
        for row in rows:
            found.append(
                {
                    "name": row[0],
                    "self": row[0] == self.name,
                    "host": row[1],
                    "pid": row[2],
                    "version": row[3],
                    "listen": row[4],
                    "started_at": row[5],
                    "heartbeat_age": round(float(row[6]), 1),
                    "alive": float(row[6]) < self.lease,
                    "holds": [
                        f"{lease[0]} (token {lease[2]}, {float(lease[3]):.0f}s left)"
                        for lease in leases
                        if lease[1] == row[0]
                    ],
                }
            )
        return found

    # ---- leases ----------------------------------------------------------------------

    async def run(self) -> None:
        """Beat, renew, take a fair share, give back the excess; and drop whatever passed
        its deadline even while the database does not answer."""
        if not self.shared:
            return
        while True:
            try:
                await asyncio.wait_for(self.tick(), self.lease / 3)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning("lease renewal failed", error=str(exc)[:200])
            self._expire()
            await self.settle()
            if self.on_beat is not None:
                try:
                    await asyncio.wait_for(self.on_beat(), self.lease / 3)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.log.warning("looking for work failed", error=str(exc)[:200])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.lease / 3)
            self._poke.clear()

    def poke(self) -> None:
        """Beat now rather than at the next third of the lease: new work (an integration
        connected) is taken at once."""
        self._poke.set()

    async def tick(self) -> None:
        asked = self.clock.monotonic()
        until = asked + self.lease * 0.8
        # Statements of their own (autocommit, no wait behind this daemon's writes): a
        # beat must not queue behind a batch of work.
        await self.db.fetchone(
            "UPDATE daemons SET heartbeat = now_epoch() WHERE name = ? RETURNING seq",
            (self.name,),
        )
        wanted = self.wanted()
        gained: set[str] = set()
        lost: set[str] = set()
        if self.held:
            names = sorted(self.held)
            marks = ", ".join("?" for _ in names)
            renewed = await self.db.fetchall(
                "UPDATE leases SET expires = now_epoch() + ? WHERE holder = ?"  # noqa: S608
                f" AND name IN ({marks}) AND expires > now_epoch() RETURNING name, token",
                (self.lease, self.name, *names),
            )
            kept = {str(r[0]): int(r[1]) for r in renewed}
            for name in names:
                if name in kept:
                    self.held[name] = Held(kept[name], until)
                else:
                    lost.add(name)
                    del self.held[name]
        live = await self.db.fetchone(
            "SELECT count(*) FROM daemons WHERE stopped_at IS NULL AND heartbeat > now_epoch() - ?",
            (self.lease,),
        )
        share = fair_share(len(wanted), int(live[0]) if live else 1)
        excess = [n for n in self.held if n not in wanted]
        mine = [n for n in self.held if n in wanted]
        if len(mine) > share:
            excess += spread(mine, self.name)[share:]
        for name in spread((n for n in wanted if n not in self.held), self.name):
            if len(self.held) - len(excess) >= share:
                break
            row = await self.db.fetchone(
                "INSERT INTO leases (name, holder, token, expires)"
                " VALUES (?, ?, 1, now_epoch() + ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " token = leases.token + 1, expires = excluded.expires"
                " WHERE leases.expires <= now_epoch() RETURNING token",
                (name, self.name, self.lease),
            )
            if row is not None:
                self.held[name] = Held(int(row[0]), until)
                gained.add(name)
        if gained or lost:
            self._log(gained, lost)
        if excess:
            await self.release(excess)

    async def release(self, names: Iterable[str]) -> None:
        """Give leases back: the work stops first, then the row goes (another daemon
        takes it at its next beat, with nothing to wait out)."""
        names = [n for n in names if n in self.held]
        if not names:
            return
        for name in names:
            del self.held[name]
        await self.settle()  # their work stops here before another daemon can take them
        marks = ", ".join("?" for _ in names)
        await self.db.write(
            f"DELETE FROM leases WHERE holder = ? AND name IN ({marks})",  # noqa: S608
            (self.name, *names),
        )
        self.log.info("leases given back", leases=",".join(sorted(names)))

    def _expire(self) -> None:
        now = self.clock.monotonic()
        gone = {name for name, held in self.held.items() if held.until <= now}
        if gone:
            for name in gone:
                del self.held[name]
            self.log.warning(
                "leases lapsed: not renewed in time; their work stops here",
                leases=",".join(sorted(gone)),
            )

    async def settle(self) -> None:
        """Bring the work running here in line with the leases held: stop what is no
        longer held, start what is. Each lease on its own, so one that fails (the
        database away) is tried again at the next beat and holds up no other."""
        if self.on_change is None:
            return
        now = self.clock.monotonic()
        held = {name for name, h in self.held.items() if h.until > now}
        for name in sorted(self.running - held):
            if await self._apply(set(), {name}):
                self.running.discard(name)
        for name in sorted(held - self.running):
            if await self._apply({name}, set()):
                self.running.add(name)

    async def _apply(self, gained: set[str], lost: set[str]) -> bool:
        assert self.on_change is not None
        try:
            await asyncio.wait_for(self.on_change(gained, lost), self.lease)
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log.error(
                "work for a lease could not be "
                + ("started; trying again" if gained else "stopped; trying again"),
                lease=",".join(gained | lost),
                error=repr(exc)[:200],
            )
            return False

    def _log(self, gained: set[str], lost: set[str]) -> None:
        if gained:
            self.log.info(
                "leases taken",
                leases=",".join(sorted(gained)),
                tokens=",".join(str(self.held[n].token) for n in sorted(gained)),
            )
        if lost:
            self.log.warning("leases lost to another daemon", leases=",".join(sorted(lost)))

    # ---- word between daemons --------------------------------------------------------

    def post(self, topic: str, **data: Any) -> None:
        """`send`, from code that cannot wait: queued, and repeats within a moment go once."""
        if not self.shared:
            return
        message = {"topic": topic, **data}
        if message not in self._outgoing:
            self._outgoing.append(message)
        self._post.set()

    async def sender(self) -> None:
        """Sends what `post` queued. A message lost while the database is away is only a
        wake-up: every receiver also looks for its work by itself at each beat."""
        if not self.shared:
            return
        while True:
            await self._post.wait()
            self._post.clear()
            batch, self._outgoing = self._outgoing, []
            for message in batch:
                try:
                    await self.send(**message)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.log.warning("word to other daemons lost", error=str(exc)[:200])

    async def send(self, topic: str, **data: Any) -> None:
        """A message to every other daemon (nothing on SQLite: there are none)."""
        if not self.shared:
            return
        for payload in _payloads({"from": self.name, "topic": topic, **data}):
            await self.db.fetchone("SELECT pg_notify(?, ?)", (CHANNEL, payload))

    async def hear(self) -> None:
        """LISTEN on a connection of its own, reconnecting (with back-off) when it drops."""
        if not self.shared:
            return
        from .db.postgres import listen

        delay = 0.5
        while True:
            try:
                async for message in listen(self.db, CHANNEL):
                    delay = 0.5
                    data = json.loads(message)
                    if data.get("from") != self.name and self.on_message is not None:
                        self.on_message(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning("listening to other daemons failed", error=str(exc)[:200])
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(delay)
            delay = min(10.0, delay * 2)


def _payloads(message: dict[str, Any]) -> list[str]:
    """The message as NOTIFY payloads under the size limit: a batch of events is split,
    and an event too large on its own keeps its text and loses its fields."""
    text = json.dumps(message, separators=(",", ":"))
    if len(text.encode()) <= NOTIFY_LIMIT:
        return [text]
    events = message.get("events")
    if not isinstance(events, list):
        return []
    if len(events) == 1:
        slim = {**events[0], "fields": {"truncated": True}}
        slim["message"] = str(slim.get("message", ""))[:2000]
        return [json.dumps({**message, "events": [slim]}, separators=(",", ":"))]
    half = len(events) // 2
    return _payloads({**message, "events": events[:half]}) + _payloads(
        {**message, "events": events[half:]}
    )
