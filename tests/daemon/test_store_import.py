"""A Shopify store's import: what a poll counts as imported, and where the import stands
across a restart or a crash. The watcher runs in process against the sandbox over its
ASGI transport, with a real database and inbox writer; every request it makes is
recorded, so a test sees which pages were read (the proof that a poll was made).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchbayd.clock import FakeClock
from patchbayd.config import ShopifyStore
from patchbayd.db import Database, store_imports
from patchbayd.db.store_imports import ImportProgress
from patchbayd.intake.writer import InboxWriter
from patchbayd.log import Logger, LogSink
from patchbayd.providers import ratelimit
from patchbayd.sandbox.app import build as sandbox
from patchbayd.secret import Secret
from patchbayd.stores.clients import StoreClients
from patchbayd.stores.shopify import next_page
from patchbayd.stores.watch import StoreState, StoreWatcher

pytestmark = pytest.mark.anyio
SHOP = "import-shop"
API = f"http://sb/shopify/{SHOP}/admin/api/2026-10"
TOKEN = {"X-Shopify-Access-Token": "sandbox-token"}


class Killed(Exception):
    """The daemon killed at that moment."""


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's transport, noting every request's URL."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)

    def reads(self, kind: str) -> list[httpx.URL]:
        return [u for u in self.urls if u.path.endswith(f"/{kind}.json")]


def shop() -> ShopifyStore:
    return ShopifyStore(
        name="s",
        shop=SHOP,
        base_url=f"http://sb/shopify/{SHOP}",
        access_token=Secret("sandbox-token"),
        webhook_secret=Secret("w"),
        api_version="2026-10",
    )


@dataclass
class Daemon:
    """What one start of the daemon holds for the store: its watcher and its log."""

    watcher: StoreWatcher
    state: StoreState
    log: io.StringIO
    clients: StoreClients

    async def poll(self) -> int:
        """One poll; how many customers the watcher logged as imported (0: no line)."""
        before = self.log.getvalue()
        await self.watcher.refresh(shop(), self.state)
        assert self.state.state == "ok", self.state.reason
        new = self.log.getvalue()[len(before) :]
        lines = [line for line in new.splitlines() if "store customers imported" in line]
        assert len(lines) <= 1
        return int(lines[0].rsplit("customers=", 1)[1]) if lines else 0


@dataclass
class Rig:
    db: Database
    clock: FakeClock
    transport: Recording
    control: httpx.AsyncClient
    inbox: InboxWriter
    started: list[Daemon] = field(default_factory=list)

    def start(self) -> Daemon:
        """The daemon (re)started: a new watcher, state and clients; the same database."""
        stream = io.StringIO()
        clients = StoreClients(self.clock, transport=self.transport)
        watcher = StoreWatcher(
            self.db,
            self.clock,
            Logger(LogSink(stream=stream, clock=self.clock), "stores"),
            self.inbox,
            clients,
            lambda: "http://hub",
        )
        daemon = Daemon(watcher, StoreState("s", "shopify"), stream, clients)
        self.started.append(daemon)
        return daemon

    async def seed(self, customers: int, orders: int = 0) -> None:
        answer = await self.control.post(
            f"/_sandbox/shopify/{SHOP}/seed", json={"customers": customers, "orders": orders}
        )
        answer.raise_for_status()

    async def customer_ids(self) -> list[int]:
        ids: list[int] = []
        url: str | None = f"{API}/customers.json?limit=250"
        while url:
            answer = await self.control.get(url, headers=TOKEN)
            ids += [c["id"] for c in answer.json()["customers"]]
            url = next_page(answer.headers.get("link"))
        return ids

    async def touch(self, customer_id: int, **fields: Any) -> None:
        """A change made at the shop (its updated_at becomes the shop's now)."""
        self.clock.advance(60)
        answer = await self.control.put(
            f"{API}/customers/{customer_id}.json",
            json={"customer": fields},
            headers=TOKEN,
        )
        answer.raise_for_status()

    async def inbox_customers(self) -> tuple[int, set[str]]:
        """Customer rows in the inbox, and the distinct customers among them."""
        rows = await self.db.fetchall(
            "SELECT json_extract(payload, '$.id') FROM inbox WHERE kind = 'customers'"
        )
        return len(rows), {str(r[0]) for r in rows}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The fake clock; the shop's rate limiter moves it on instead of sleeping."""
    fake = FakeClock()

    async def sleep(seconds: float) -> None:
        fake.advance(seconds)

    monkeypatch.setattr(ratelimit.asyncio, "sleep", sleep)
    yield fake


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    transport = Recording(httpx.ASGITransport(app=sandbox(clock=clock)))
    db = await Database.open(tmp_path / "state.db")
    inbox = InboxWriter(db, clock, lambda: None)
    writer = asyncio.ensure_future(inbox.run())
    control = httpx.AsyncClient(transport=transport, base_url="http://sb")
    rig = Rig(db, clock, transport, control, inbox)
    yield rig
    for daemon in rig.started:
        await daemon.clients.aclose()
    await control.aclose()
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    await db.close()


async def test_a_poll_that_finds_nothing_new_imports_and_logs_nothing(rig: Rig) -> None:
    """Before, Shopify's inclusive updated_at_min brought the newest customer back every
    poll, and each poll logged "store customers imported customers=1" and queued it."""
    await rig.seed(5)
    daemon = rig.start()
    assert await daemon.poll() == 5
    reads = len(rig.transport.reads("customers"))
    for _ in range(3):
        assert await daemon.poll() == 0
    # Each of those polls did read the shop (since the cursor), and found nothing new.
    polls = rig.transport.reads("customers")[reads:]
    assert len(polls) == 3 and all("updated_at_min" in u.params for u in polls)
    assert await rig.inbox_customers() == (5, {str(i) for i in await rig.customer_ids()})
    # A customer changed at the shop is imported (and only that one).
    first = (await rig.customer_ids())[0]
    await rig.touch(first, first_name="Changed")
    assert await daemon.poll() == 1
    assert (await rig.inbox_customers())[0] == 6
    assert await daemon.poll() == 0


async def test_a_restart_goes_on_from_the_saved_cursor(rig: Rig) -> None:
    """Before, the cursor lived in memory only: every start read the whole store (and its
    orders) again."""
    await rig.seed(600, orders=30)
    first = rig.start()
    assert await first.poll() == 600
    assert len(rig.transport.reads("orders")) == 1
    before = len(rig.transport.urls)
    again = rig.start()
    assert await again.poll() == 0
    assert "store import goes on where it stood" in again.log.getvalue()
    customers = [u for u in rig.transport.urls[before:] if u.path.endswith("/customers.json")]
    assert len(customers) == 1 and "updated_at_min" in customers[0].params  # one page
    assert len(rig.transport.reads("orders")) == 1  # read once, not at every start
    assert (await rig.inbox_customers())[0] == 600


async def test_a_crash_after_a_page_re_reads_only_that_page_and_skips_none(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import is cut off after its second page reached the inbox and before that was
    saved. Shopify pages by id: the newest customer is on the first page, so a cursor
    moved to the newest seen so far would skip the third page after the restart."""
    await rig.seed(600)
    ids = await rig.customer_ids()
    await rig.touch(ids[0], first_name="Newest")  # page 1 holds the newest update
    saves = 0
    real_save = store_imports.save

    async def crash_at_the_second(*args: Any) -> None:
        nonlocal saves
        saves += 1
        if saves == 2:
            raise Killed  # not an error the watcher handles: it stops right here
        await real_save(*args)

    monkeypatch.setattr(store_imports, "save", crash_at_the_second)
    crashed = rig.start()
    with pytest.raises(Killed):
        await crashed.watcher.refresh(shop(), crashed.state)
    assert (await rig.inbox_customers())[0] == 500  # two pages committed
    monkeypatch.setattr(store_imports, "save", real_save)
    before = len(rig.transport.urls)
    again = rig.start()
    assert await again.poll() == 100  # the third page; the second was in the inbox
    reads = [u for u in rig.transport.urls[before:] if u.path.endswith("/customers.json")]
    assert len(reads) == 2 and all("page_info" in u.params for u in reads)
    count, distinct = await rig.inbox_customers()
    assert count == 600 and distinct == {str(i) for i in ids}
    # The pass is complete: the next poll starts at the newest customer, finds nothing.
    assert await again.poll() == 0
    assert "updated_at_min" in rig.transport.reads("customers")[-1].params


async def test_a_saved_page_the_shop_refuses_reads_that_pass_again(rig: Rig) -> None:
    await rig.seed(300)
    first = rig.start()
    assert await first.poll() == 300
    saved = await store_imports.load(rig.db, "s")
    assert saved is not None and saved.customers_next is None and saved.cursor
    await store_imports.save(
        rig.db,
        "s",
        ImportProgress(
            saved.source,
            cursor=None,
            customers_next=f"{API}/customers.json?limit=250&page_info=expired",
            orders_read=True,
        ),
        "2026-11-22T10:00:00.000Z",
    )
    again = rig.start()
    assert await again.poll() == 0  # read again from the start: every row already in
    assert "reading that pass again" in again.log.getvalue()
    assert (await rig.inbox_customers())[0] == 300
    resumed = await store_imports.load(rig.db, "s")
    assert resumed is not None and resumed.cursor == saved.cursor
