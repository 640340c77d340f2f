"""Leases between daemons, in process on a real PostgreSQL: a fair share each, the excess
given back, a silent holder's work taken over, and a stale holder fenced off. Plus the
pure decisions (share, spread, payload splitting) as tables."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from patchbayd.clock import FakeClock
from patchbayd.cluster import (
    NOTIFY_LIMIT,
    Cluster,
    LeaseLost,
    _payloads,
    fair_share,
    spread,
)
from patchbayd.db import Database
from patchbayd.log import Logger, LogSink
from tests.postgres import fresh_database

pytestmark = pytest.mark.anyio

WANTED = {"inbox", "store:a", "integration:1", "integration:2", "integration:3"}


@pytest.mark.parametrize(
    ("wanted", "live", "share"),
    [(5, 1, 5), (5, 2, 3), (5, 3, 2), (6, 3, 2), (0, 2, 0), (1, 3, 1), (5, 0, 5)],
)
def test_a_fair_share_leaves_no_lease_unheld(wanted: int, live: int, share: int) -> None:
    assert fair_share(wanted, live) == share
    assert share * max(1, live) >= wanted


def test_daemons_ask_for_leases_in_orders_of_their_own() -> None:
    names = sorted(WANTED)
    a, b = spread(names, "host:1:aa"), spread(names, "host:2:bb")
    assert sorted(a) == names and sorted(b) == names
    assert a == spread(names, "host:1:aa")  # stable for one daemon
    assert a != b  # different between two (for these names and ids)


def test_a_large_batch_of_events_is_split_under_the_notify_limit() -> None:
    events = [{"id": i, "message": "x" * 300, "fields": {"n": i}} for i in range(100)]
    payloads = _payloads({"from": "d", "topic": "events", "events": events})
    assert len(payloads) > 1
    assert all(len(p.encode()) <= NOTIFY_LIMIT for p in payloads)
    back = [e for p in payloads for e in json.loads(p)["events"]]
    assert back == events  # all of them, in order


def test_one_event_too_large_alone_keeps_its_message_not_its_fields() -> None:
    event = {"id": 1, "message": "big", "fields": {"blob": "y" * 20000}}
    (payload,) = _payloads({"from": "d", "topic": "events", "events": [event]})
    assert json.loads(payload)["events"][0] == {
        "id": 1,
        "message": "big",
        "fields": {"truncated": True},
    }


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as found:
        yield found


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    opened = await Database.open(url)
    yield opened
    await opened.close()


def member(db: Database, clock: FakeClock, lease: float = 3.0) -> Cluster:
    return Cluster(
        db,
        clock,
        Logger(LogSink(stream=io.StringIO(), clock=clock), "cluster"),
        shared=True,
        lease=lease,
        listen="127.0.0.1:0",
        wanted=lambda: set(WANTED),
    )


async def test_two_daemons_split_the_leases_and_none_is_held_twice(db: Database) -> None:
    clock = FakeClock()
    a, b = member(db, clock), member(db, clock)
    changes: list[tuple[set[str], set[str]]] = []

    async def changed(gained: set[str], lost: set[str]) -> None:
        changes.append((gained, lost))

    a.on_change = changed
    await a.join()
    await a.tick()
    await a.settle()
    assert set(a.held) == WANTED == a.running  # alone: everything, and its work started
    assert set().union(*(gained for gained, _ in changes)) == WANTED
    changes.clear()
    await b.join()
    await a.tick()  # two alive now: a gives back what is over its share
    await b.tick()
    assert len(a.held) == 3 and len(b.held) == 2
    assert not set(a.held) & set(b.held)
    # a's engines were told to stop the work of what it gave back, before it went.
    assert set().union(*(lost for _, lost in changes)) == WANTED - set(a.held) == WANTED - a.running
    rows = await db.fetchall("SELECT name, holder FROM leases")
    assert {r[0]: r[1] for r in rows} == {
        **{n: a.name for n in a.held},
        **{n: b.name for n in b.held},
    }


async def test_a_silent_holder_stops_acting_then_its_leases_are_taken_over(db: Database) -> None:
    clock_a, clock_b = FakeClock(), FakeClock()
    a, b = member(db, clock_a), member(db, clock_b)
    await a.join()
    await a.tick()
    await b.join()
    taken = set(a.held)
    assert taken == WANTED
    # a goes silent (SIGSTOP, a partition): its own clock runs out its deadline first...
    clock_a.advance(3.0 * 0.8 + 0.01)
    assert not any(a.holds(n) for n in taken)
    # ...and once the database's expiry passes, b takes the leases with new tokens.
    await asyncio.sleep(3.1)
    await b.tick()
    await b.tick()
    assert set(b.held) == WANTED
    assert all(held.token == 2 for held in b.held.values())
    # a wakes up: its renewal finds nothing, and its work fails the fence.
    await a.tick()
    assert not a.held
    with pytest.raises(LeaseLost):
        async with db.transaction() as conn:
            await a.fence(conn, "inbox")
    async with db.transaction() as conn:
        await b.fence(conn, "inbox")  # the holder passes


async def test_a_clean_stop_frees_its_leases_at_once(db: Database) -> None:
    clock = FakeClock()
    a, b = member(db, clock), member(db, clock)
    await a.join()
    await a.tick()
    await b.join()
    await a.leave()
    await b.tick()
    assert set(b.held) == WANTED  # nothing to wait out
    alive = await b.members()
    assert [m["name"] for m in alive] == [b.name]


async def test_word_between_daemons_arrives(db: Database) -> None:
    clock = FakeClock()
    a, b = member(db, clock), member(db, clock)
    heard: list[dict[str, object]] = []
    b.on_message = heard.append
    listening = asyncio.ensure_future(b.hear())
    try:
        for _ in range(50):  # LISTEN is in place once a message sent now arrives
            await a.send("wake", what="probe")
            await asyncio.sleep(0.1)
            if heard:
                break
        assert heard and heard[0]["topic"] == "wake" and heard[0]["from"] == a.name
        a.post("wake", what="outbox", ids=[1])
        a.post("wake", what="outbox", ids=[1])  # a repeat within a moment goes once
        sender = asyncio.ensure_future(a.sender())
        for _ in range(50):
            await asyncio.sleep(0.1)
            if any(m.get("what") == "outbox" for m in heard):
                break
        sender.cancel()
        assert [m for m in heard if m.get("what") == "outbox"] == [
            {"from": a.name, "topic": "wake", "what": "outbox", "ids": [1]}
        ]
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_work_that_failed_to_start_is_started_at_the_next_beat(db: Database) -> None:
    clock = FakeClock()
    a = member(db, clock)
    started: list[str] = []
    fail = {"inbox"}

    async def changed(gained: set[str], lost: set[str]) -> None:
        if gained & fail:
            raise ConnectionError("the database went away")
        started.extend(gained)

    a.on_change = changed
    await a.join()
    await a.tick()
    await a.settle()
    assert "inbox" in a.held and "inbox" not in a.running  # held, but its work not running
    assert set(started) == WANTED - {"inbox"}
    fail.clear()
    await a.settle()  # the next beat
    assert a.running == WANTED and "inbox" in started
