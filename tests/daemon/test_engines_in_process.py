"""The engines in one process: a real database file, the fake clock and the sandbox
over its ASGI transport (no sockets, no daemon subprocess), so a failure points at the
engine and not at the process around it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchbayd.bus import Bus
from patchbayd.clock import FakeClock, isoformat
from patchbayd.config import PushStore
from patchbayd.db import Database
from patchbayd.db import customers as tables
from patchbayd.db import outbox as outbox_rows
from patchbayd.db import syncs as sync_rows
from patchbayd.db.outbox import SYSTEM_ROUTE, NewDelivery
from patchbayd.engine.outbox import Outbox
from patchbayd.engine.sync import SyncEngine
from patchbayd.integrations import IntegrationManager
from patchbayd.log import Logger, LogSink
from patchbayd.metrics import Metrics
from patchbayd.model import StoreCustomer, Sync
from patchbayd.sandbox.app import build as sandbox
from patchbayd.secret import Secret
from tests.postgres import BACKENDS, database_for

pytestmark = pytest.mark.anyio
AT = "2026-11-22T10:00:00.000Z"


@dataclass
class Rig:
    db: Database
    clock: FakeClock
    sink: LogSink
    control: httpx.AsyncClient
    integrations: IntegrationManager
    bus: Bus

    async def customers(self, count: int, state: str = "subscribed") -> None:
        rows = [
            (
                StoreCustomer(
                    store="demo",
                    id=f"c{i}",
                    email=f"m{i}@example.com",
                    first_name="Member",
                    created_at=AT,
                    updated_at=AT,
                    email_consent=state,
                    email_consent_at=AT,
                ),
                i + 1,
            )
            for i in range(count)
        ]
        async with self.db.transaction() as conn:
            await tables.upsert_customers(conn, rows, isoformat(self.clock.now()))

    async def state(self, system: str) -> dict[str, Any]:
        return dict((await self.control.get(f"/_sandbox/{system}/state")).json())


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    yield from database_for(request.param)


@pytest.fixture
async def rig(tmp_path: Path, database_url: str | None) -> AsyncIterator[Rig]:
    clock = FakeClock()
    transport = httpx.ASGITransport(app=sandbox(clock=clock))
    db = await Database.open(database_url or tmp_path / "state.db")
    sink = LogSink(stream=io.StringIO(), clock=clock)
    integrations = IntegrationManager(
        db,
        clock,
        Logger(sink, "integrations"),
        lambda: {"demo": PushStore("demo", Secret("t"))},
        transport=transport,
    )
    await integrations.start()
    control = httpx.AsyncClient(transport=transport, base_url="http://sb")
    yield Rig(db, clock, sink, control, integrations, Bus())
    await integrations.close()
    await control.aclose()
    await db.close()


async def connect(rig: Rig, provider: str = "omnisend") -> int:
    made = await rig.integrations.connect(
        provider,
        "demo",
        {"base_url": f"http://sb/{provider}", "rate_limit": "none"},
        Secret("sandbox-k"),
    )
    return made.id


async def finished(bus: Bus, sync_id: int) -> dict[str, Any]:
    """The run's last progress event: the engine says it is done."""
    async for event in bus.subscribe():
        if (
            event.kind == "progress"
            and event.fields.get("sync") == sync_id
            and event.fields.get("done")
        ):
            return dict(event.fields)
    raise AssertionError("the bus closed before the run finished")


async def test_a_sync_sends_each_contact_once_and_an_unchanged_rerun_sends_nothing(
    rig: Rig,
) -> None:
    await rig.customers(30)
    integration = await connect(rig)
    engine = SyncEngine(rig.db, rig.clock, Logger(rig.sink, "sync"), rig.bus, rig.integrations)
    done = asyncio.ensure_future(finished(rig.bus, 1))
    await asyncio.sleep(0)  # subscribed before the run can end
    sync = await engine.create(
        integration_id=integration, segment="all", destination=None, mode="once", rules={}
    )
    first = await asyncio.wait_for(done, 30)
    assert (first["sent"], first["failed"], first["scanned"]) == (30, 0, 30)
    contacts = (await rig.state("omnisend"))["contacts"]
    assert len(contacts) == 30
    assert {c["identifiers"][0]["channels"]["email"]["status"] for c in contacts} == {"subscribed"}
    again = asyncio.ensure_future(finished(rig.bus, sync.id))
    await asyncio.sleep(0)
    await engine.start(sync)
    second = await asyncio.wait_for(again, 30)
    assert second["sent"] == 0  # nothing changed since: nothing sent
    await engine.close()


async def test_a_dry_run_reports_without_sending(rig: Rig) -> None:
    await rig.customers(5)
    integration = await connect(rig)
    engine = SyncEngine(rig.db, rig.clock, Logger(rig.sink, "sync"), rig.bus, rig.integrations)
    draft = Sync(
        id=0,
        integration_id=integration,
        segment="all",
        destination=None,
        mode="once",
        rules={},
        state="dry",
        reason=None,
        seq_done=0,
        created_at=AT,
    )
    report = await engine.dry_run(draft)
    assert report.counts.would_send == 5 and report.counts.sent == 0
    assert len(report.would_send) == 5
    assert (await rig.state("omnisend"))["contacts"] == []


async def test_the_outbox_retries_a_500_and_delivers_once(rig: Rig) -> None:
    integration = await connect(rig)
    metrics = Metrics(lambda: 0.0, {})  # not served here; the outbox counts into it
    outbox = Outbox(rig.db, rig.clock, Logger(rig.sink, "outbox"), rig.integrations, metrics)
    await rig.control.post("/_sandbox/omnisend/faults", json={"error_rate": 1.0})
    delivery = NewDelivery(
        SYSTEM_ROUTE,
        "consent",
        integration,
        "demo",
        "consent.changed",
        "e1",
        0,
        "set_consent",
        "m1@example.com",
        "consent:e1",
        {"email": "m1@example.com", "state": "subscribed", "at": AT},
        5.0,
        None,
    )
    await outbox_rows.add(rig.db, [delivery], isoformat(rig.clock.now()))
    runner = asyncio.ensure_future(outbox.run())
    outbox.wake({integration})

    async def status() -> str:
        listed = await outbox_rows.listing(rig.db, limit=10)
        return str(listed[0].status)

    for _ in range(200):  # the first attempt: refused with 500, so retrying
        if await status() == "retrying":
            break
        await asyncio.sleep(0.01)
    assert await status() == "retrying"
    await rig.control.post("/_sandbox/omnisend/faults", json={"error_rate": 0.0})
    rig.clock.advance(3600)  # the retry is due (the fake clock, not a wait)
    outbox.wake({integration})
    for _ in range(500):
        if await status() == "delivered":
            break
        await asyncio.sleep(0.01)
    assert await status() == "delivered"
    contacts = (await rig.state("omnisend"))["contacts"]
    assert [c["email"] for c in contacts] == ["m1@example.com"]
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


async def settled(bus: Bus, sync_id: int) -> str:
    """How a requested run of the sync ended: "no run" (the engine said it was up to
    date) or "run" (it finished one). Either way the engine has done its work."""
    async for event in bus.subscribe():
        if event.fields.get("sync") != sync_id:
            continue
        if event.kind == "log" and event.message.startswith("sync up to date"):
            return "no run"
        if event.kind == "progress" and event.fields.get("done"):
            return "run"
    raise AssertionError("the bus closed before the sync settled")


async def closed(engine: SyncEngine, sync_id: int) -> None:
    """Close the engine once its run has ended (the "finished" event comes a moment before
    the task does; a close cancels whatever is still under way)."""
    for _ in range(1000):
        if not engine.running(sync_id):
            break
        await asyncio.sleep(0.01)
    else:  # a run that never ends is a failure, not something for close() to cancel
        raise AssertionError(f"sync {sync_id} still running 10 s after it finished")
    await engine.close()


async def restarted(rig: Rig, sync_id: int) -> str:
    """A new engine on the same database (the daemon started again), resumed; what the
    active sync's catch-up did."""
    sink = LogSink(level="debug", stream=io.StringIO(), clock=rig.clock)
    sink.bus = rig.bus
    engine = SyncEngine(rig.db, rig.clock, Logger(sink, "sync"), rig.bus, rig.integrations)
    outcome = asyncio.ensure_future(settled(rig.bus, sync_id))
    await asyncio.sleep(0)  # subscribed before the catch-up can end
    await engine.resume()
    result = await asyncio.wait_for(outcome, 30)
    await closed(engine, sync_id)
    return result


async def test_an_active_sync_catching_up_with_nothing_changed_adds_no_run(rig: Rig) -> None:
    """Before, every start added an empty run to each active sync's history."""
    await rig.customers(5)
    integration = await connect(rig)
    first = SyncEngine(rig.db, rig.clock, Logger(rig.sink, "sync"), rig.bus, rig.integrations)
    done = asyncio.ensure_future(finished(rig.bus, 1))
    await asyncio.sleep(0)
    sync = await first.create(
        integration_id=integration, segment="all", destination=None, mode="active", rules={}
    )
    assert (await asyncio.wait_for(done, 30))["sent"] == 5
    await closed(first, sync.id)
    for _ in range(2):  # two restarts with nothing new
        outcome = await restarted(rig, sync.id)
        assert outcome == "no run"
    assert [r.state for r in await sync_rows.runs(rig.db, sync.id)] == ["done"]
    assert (await sync_rows.get(rig.db, sync.id)).state == "active"  # type: ignore[union-attr]


async def test_a_catch_up_that_finds_work_or_fails_is_still_recorded(rig: Rig) -> None:
    await rig.customers(3)
    integration = await connect(rig)
    first = SyncEngine(rig.db, rig.clock, Logger(rig.sink, "sync"), rig.bus, rig.integrations)
    done = asyncio.ensure_future(finished(rig.bus, 1))
    await asyncio.sleep(0)
    sync = await first.create(
        integration_id=integration, segment="subscribers", destination=None, mode="active", rules={}
    )
    await asyncio.wait_for(done, 30)
    await closed(first, sync.id)
    # Changed while the daemon was down: one customer more -> a run that sends it.
    await rig.customers(4)
    outcome = await restarted(rig, sync.id)
    assert outcome == "run"
    runs = await sync_rows.runs(rig.db, sync.id)
    assert [r.state for r in runs] == ["done", "done"] and runs[0].counts["sent"] == 1
    # The key is revoked meanwhile: the catch-up fails, and that is recorded too.
    await rig.control.post("/_sandbox/omnisend/faults", json={"revoked_keys": ["sandbox-k"]})
    await rig.customers(5)
    outcome = await restarted(rig, sync.id)
    assert outcome == "run"
    assert (await sync_rows.runs(rig.db, sync.id))[0].state == "failed"
    # Then nothing changes, but the sync is in error: its retry is recorded as well.
    await rig.control.post("/_sandbox/omnisend/faults", json={"revoked_keys": []})
    outcome = await restarted(rig, sync.id)
    assert outcome == "run"
    runs = await sync_rows.runs(rig.db, sync.id)
    assert [r.state for r in runs] == ["done", "failed", "done", "done"]


async def test_a_change_outside_the_segment_adds_no_run(rig: Rig) -> None:
    """Followed changes too: an update that concerns no member of the segment."""
    await rig.customers(2)
    integration = await connect(rig)
    sink = LogSink(level="debug", stream=io.StringIO(), clock=rig.clock)
    sink.bus = rig.bus
    engine = SyncEngine(rig.db, rig.clock, Logger(sink, "sync"), rig.bus, rig.integrations)
    done = asyncio.ensure_future(finished(rig.bus, 1))
    await asyncio.sleep(0)
    sync = await engine.create(
        integration_id=integration, segment="subscribers", destination=None, mode="active", rules={}
    )
    await asyncio.wait_for(done, 30)
    async with rig.db.transaction() as conn:  # a non-subscriber arrives
        await tables.upsert_customers(
            conn,
            [(StoreCustomer(store="demo", id="x", email="x@example.com", created_at=AT), 50)],
            isoformat(rig.clock.now()),
        )
    outcome = asyncio.ensure_future(settled(rig.bus, sync.id))
    await asyncio.sleep(0)
    engine.request(sync.id)
    assert await asyncio.wait_for(outcome, 30) == "no run"
    assert len(await sync_rows.runs(rig.db, sync.id)) == 1
    assert (await sync_rows.get(rig.db, sync.id)).seq_done == 50  # type: ignore[union-attr]
    await engine.close()
