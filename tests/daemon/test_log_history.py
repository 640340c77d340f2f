"""GET /v1/log beyond the in-memory ring: the control app in process over a real
database file, with a bus whose ring holds only the newest 5 events, so everything
older comes from the event_log table (as after a day of running, or a restart)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from patchbayd.bus import Bus
from patchbayd.clock import FakeClock, isoformat, parse_time
from patchbayd.db import Database, event_log
from patchbayd.web import control

pytestmark = pytest.mark.anyio
RING = 5
EVENTS = 30


@dataclass
class Rig:
    db: Database
    bus: Bus
    clock: FakeClock
    api: httpx.AsyncClient
    times: list[str]  # ts of event id i+1

    async def log(self, **params: Any) -> list[dict[str, Any]]:
        answer = await self.api.get("/v1/log", params=params)
        assert answer.status_code == 200, answer.text
        events: list[dict[str, Any]] = answer.json()["events"]
        return events

    async def refused(self, **params: Any) -> str:
        answer = await self.api.get("/v1/log", params=params)
        assert answer.status_code == 400, answer.text
        message: str = answer.json()["error"]["message"]
        return message


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = await Database.open(tmp_path / "patchbay.db")
    clock = FakeClock()
    start = clock.now() - timedelta(hours=EVENTS)
    bus = Bus(ring=RING)
    times = []
    for i in range(EVENTS):  # one an hour; every third an error of integration 7
        ts = isoformat(start + timedelta(hours=i))
        times.append(ts)
        bus.publish(
            ts=ts,
            kind="log",
            level="error" if i % 3 == 0 else "info",
            component="sync",
            message=f"event {i + 1}",
            fields={"integration": 7} if i % 3 == 0 else {"sync": i},
        )
    await event_log.append(db, bus.take_unsaved())
    parts = SimpleNamespace(bus=bus, db=db, clock=clock)
    app = control.build(cast(Any, parts))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://patchbay") as api:
        yield Rig(db, bus, clock, api, times)
    await db.close()


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [e["id"] for e in events]


async def test_a_backlog_longer_than_the_ring_is_read_from_the_table(rig: Rig) -> None:
    assert len(rig.bus.recent(1000)) == RING
    events = await rig.log(backlog=100)
    assert ids(events) == list(range(1, EVENTS + 1))  # oldest first, newest last
    assert events[0] == {
        "id": 1,
        "ts": rig.times[0],
        "kind": "log",
        "level": "error",
        "component": "sync",
        "message": "event 1",
        "fields": {"integration": 7},
    }
    assert ids(await rig.log(backlog=12)) == list(range(EVENTS - 11, EVENTS + 1))
    assert ids(await rig.log(backlog=3)) == [28, 29, 30]  # the ring alone
    assert ids(await rig.log(backlog=0)) == []


async def test_events_older_than_the_ring_are_found_with_since_and_until(rig: Rig) -> None:
    # since is inclusive, until exclusive: events 3 to 7, all long gone from the ring.
    events = await rig.log(since=rig.times[2], until=rig.times[7])
    assert ids(events) == [3, 4, 5, 6, 7]
    assert [e["message"] for e in events] == [f"event {i}" for i in range(3, 8)]
    # Spanning the table and the ring, with the newest `backlog` of them kept.
    assert ids(await rig.log(since=rig.times[20])) == list(range(21, EVENTS + 1))
    assert ids(await rig.log(since=rig.times[20], backlog=4)) == [27, 28, 29, 30]
    # Any ISO-8601 form, converted to UTC; a duration means that long ago.
    assert ids(await rig.log(until="1970-01-01")) == []
    moment = parse_time(rig.times[2])
    assert moment is not None
    local = moment.astimezone(timezone(timedelta(hours=2))).isoformat()  # ...+02:00
    assert ids(await rig.log(until=local))[-1] == 2
    assert ids(await rig.log(since="3h")) == [28, 29, 30]  # one an hour, the last 1 h ago


async def test_filters_apply_to_the_table_as_to_the_ring(rig: Rig) -> None:
    errors = await rig.log(level="error", backlog=1000)
    assert ids(errors) == list(range(1, EVENTS + 1, 3))
    assert {e["level"] for e in errors} == {"error"}
    assert ids(await rig.log(integration="7", backlog=4)) == [19, 22, 25, 28]
    assert ids(await rig.log(level="warning", until=rig.times[5])) == [1, 4]
    assert ids(await rig.log(after=24, backlog=100)) == [25, 26, 27, 28, 29, 30]
    assert ids(await rig.log(after=10, backlog=100, until=rig.times[14])) == [11, 12, 13, 14]


async def test_bad_times_and_bounds_are_refused_with_a_clear_message(rig: Rig) -> None:
    message = await rig.refused(since="yesterday")
    assert "since must be an ISO-8601 time" in message and "'yesterday'" in message
    assert "until must be" in await rig.refused(until="2026-13-45T00:00:00Z")
    assert "until must be" in await rig.refused(until="99999999999d")
    assert "must be before until" in await rig.refused(since=rig.times[5], until=rig.times[5])
    assert "follow" in await rig.refused(until=rig.times[5], follow=1)
    assert "between 0 and 100000" in await rig.refused(backlog=100_001)


async def test_follow_replays_the_history_from_the_table_before_going_live(rig: Rig) -> None:
    rig.bus.close()  # the stream ends after its prelude instead of waiting for new events
    async with rig.api.stream(
        "GET", "/v1/log", params={"follow": 1, "since": rig.times[22], "backlog": 100}
    ) as answer:
        assert answer.status_code == 200
        body = "".join([chunk async for chunk in answer.aiter_text()])
    data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert ids(data) == list(range(23, EVENTS + 1))
    assert body.rstrip().endswith(": live")


async def test_events_not_yet_in_the_table_come_from_the_ring(rig: Rig) -> None:
    rig.bus.publish(
        ts=isoformat(rig.clock.now()),
        kind="log",
        level="info",
        component="daemon",
        message="unsaved",
        fields={},
    )
    events = await rig.log(backlog=8)
    assert ids(events) == list(range(EVENTS - 6, EVENTS + 2))
    assert events[-1]["message"] == "unsaved"


async def test_prune_keeps_the_newest_rows_and_drops_those_past_the_retention(rig: Rig) -> None:
    await event_log.prune(rig.db, keep=25)
    assert ids_of(await event_log.recent(rig.db, 100)) == list(range(6, EVENTS + 1))
    await event_log.prune(rig.db, older_than=rig.times[10])
    assert ids_of(await event_log.recent(rig.db, 100)) == list(range(11, EVENTS + 1))


def ids_of(events: list[Any]) -> list[int]:
    return [e.id for e in events]
