"""One client and one rate limiter per store, shared by the watcher and consent write-backs.

Shopify's budget (40 burst, 2/s) is the shop's: before, the watcher and every write-back
built their own client with a full bucket each, so together they could exceed it. The
limiter's sleeps are recorded against a fake clock here, so nothing really waits.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from patchbayd.clock import FakeClock
from patchbayd.config import ShopifyStore
from patchbayd.db import Database
from patchbayd.db.inbox import Incoming
from patchbayd.intake.writer import InboxWriter
from patchbayd.log import Logger, LogSink
from patchbayd.model import StoreCustomer
from patchbayd.providers import ratelimit
from patchbayd.sandbox.app import build as sandbox
from patchbayd.secret import Secret
from patchbayd.stores import clients as clients_module
from patchbayd.stores.clients import StoreClients
from patchbayd.stores.watch import StoreState, StoreWatcher
from patchbayd.stores.writer import StoreWriter

pytestmark = pytest.mark.anyio
SHOP = "tea-and-cake-2"


class Inbox:
    """Records what would be committed to the inbox."""

    def __init__(self) -> None:
        self.rows: list[Incoming] = []

    async def add(self, rows: Sequence[Incoming]) -> None:
        self.rows.extend(rows)


def shop(token: str = "sandbox-token") -> ShopifyStore:
    return ShopifyStore(
        name="s",
        shop=SHOP,
        base_url=f"http://sb/shopify/{SHOP}",
        access_token=Secret(token),
        webhook_secret=Secret("w"),
        api_version="2026-10",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """The watcher keeps where each store's import stands in the database."""
    database = await Database.open(tmp_path / "state.db")
    yield database
    await database.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> list[float]:
    """Every pause the limiter asks for, with the fake clock moved on instead of sleeping."""
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(ratelimit.asyncio, "sleep", sleep)
    return asked


async def seeded(clock: FakeClock, customers: int) -> tuple[httpx.ASGITransport, list[str]]:
    transport = httpx.ASGITransport(app=sandbox(clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://sb") as control:
        (
            await control.post(f"/_sandbox/shopify/{SHOP}/seed", json={"customers": customers})
        ).raise_for_status()
        listed = await control.get(
            f"/shopify/{SHOP}/admin/api/2026-10/customers.json?limit=250",
            headers={"X-Shopify-Access-Token": "sandbox-token"},
        )
    return transport, [str(c["id"]) for c in listed.json()["customers"]]


def parts(
    clock: FakeClock, transport: httpx.ASGITransport, inbox: Inbox, db: Database
) -> tuple[StoreClients, StoreWatcher, StoreWriter]:
    clients = StoreClients(clock, transport=transport)
    writer_inbox = cast(InboxWriter, inbox)
    log = Logger(LogSink(stream=io.StringIO()), "stores")
    watcher = StoreWatcher(db, clock, log, writer_inbox, clients, lambda: "http://hub")
    writer = StoreWriter(clients, lambda: {"s": shop()}, writer_inbox)
    return clients, watcher, writer


async def test_watcher_and_write_backs_share_one_client(
    clock: FakeClock, waits: list[float], monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    built: list[Any] = []
    original = clients_module.ShopifyClient

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(clients_module, "ShopifyClient", counting)
    transport, ids = await seeded(clock, 3)
    inbox = Inbox()
    clients, watcher, writer = parts(clock, transport, inbox, db)
    state = StoreState("s", "shopify")
    await watcher.refresh(shop(), state)
    for customer_id in ids:
        await writer.set_email_consent(
            StoreCustomer(store="s", id=customer_id), "unsubscribed", clock.now(), "provider"
        )
    await watcher.refresh(shop(), state)
    assert state.state == "ok"
    assert len(built) == 1
    assert sum(1 for row in inbox.rows if row.kind == "customers") >= 3 + 3
    await clients.aclose()


async def test_the_shops_budget_holds_across_watcher_and_write_backs(
    clock: FakeClock, waits: list[float], db: Database
) -> None:
    transport, ids = await seeded(clock, 40)
    clients, watcher, writer = parts(clock, transport, Inbox(), db)
    for customer_id in ids:  # 40 write-backs spend the whole burst
        await writer.set_email_consent(
            StoreCustomer(store="s", id=customer_id), "unsubscribed", clock.now(), "provider"
        )
    assert waits == []
    state = StoreState("s", "shopify")
    await watcher.refresh(shop(), state)  # shop, webhooks, customers, orders: paced at 2/s
    assert state.state == "ok"
    assert len(waits) >= 4
    assert all(wait == pytest.approx(0.5) for wait in waits)
    await clients.aclose()


async def test_a_changed_token_gets_a_new_client_and_the_old_one_is_closed(
    clock: FakeClock,
) -> None:
    clients = StoreClients(clock, transport=httpx.ASGITransport(app=sandbox(clock=clock)))
    first = await clients.shopify(shop())
    assert await clients.shopify(shop()) is first
    second = await clients.shopify(shop("rotated"))
    assert second is not first
    assert first.http.closed
    await clients.forget(set())
    assert second.http.closed
