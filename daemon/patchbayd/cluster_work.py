"""What leases and word from other daemons do to this daemon's engines.

The engines know only `mine(integration)` (IntegrationManager), `owns(store)` (the
store watcher) and their `tell` hooks; this module binds those to the cluster: it starts
and stops the inbox processor with the `inbox` lease, stops an integration's work here
when its lease goes and catches it up when one comes, and turns the engines' hooks into
messages (and messages back into wake-ups). On SQLite nothing here is ever called but
`start_processor`: the one daemon holds everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from .bus import Bus
from .cluster import Cluster
from .engine.orders import OrderExporter
from .engine.outbox import Outbox
from .engine.processor import InboxProcessor
from .engine.reconcile import ConsentEngine
from .engine.routebook import RouteBook
from .engine.sync import SyncEngine
from .integrations import IntegrationManager
from .log import Logger

INTEGRATION = "integration:"


def integration_of(lease: str) -> int | None:
    return int(lease.removeprefix(INTEGRATION)) if lease.startswith(INTEGRATION) else None


class ClusterWork:
    def __init__(
        self,
        cluster: Cluster,
        log: Logger,
        bus: Bus,
        *,
        integrations: IntegrationManager,
        processor: InboxProcessor,
        syncs: SyncEngine,
        orders: OrderExporter,
        outbox: Outbox,
        consent: ConsentEngine,
        routes: RouteBook,
        supervised: Callable[[str, Callable[[], Awaitable[None]]], Coroutine[Any, Any, None]],
    ) -> None:
        self.cluster, self.log, self.bus = cluster, log, bus
        self.integrations, self.processor = integrations, processor
        self.syncs, self.orders, self.outbox, self.consent = syncs, orders, outbox, consent
        self.routes = routes
        self.supervised = supervised
        self._processor: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()

    def bind(self) -> None:
        """Hooks in place before any engine runs."""
        cluster = self.cluster
        self.integrations.mine = cluster.holds_integration
        if not cluster.shared:
            return
        self.processor.fence = lambda conn: cluster.fence(conn, "inbox")
        self.consent.fans_out = lambda: cluster.holds("inbox")
        self.syncs.tell = lambda what, sync_id: cluster.post("sync", action=what, sync=sync_id)
        self.orders.tell = lambda: cluster.post("wake", what="orders")
        self.outbox.tell = lambda ids: cluster.post("wake", what="outbox", ids=sorted(ids))
        cluster.on_change = self.leases_changed
        cluster.on_beat = self.beat
        cluster.on_message = self.heard

    # ---- what this daemon says -------------------------------------------------------

    def inbox_committed(self) -> None:
        self.processor.wake.set()
        self.cluster.post("wake", what="inbox")

    def stores_changed(self, stores: set[str]) -> None:
        self.syncs.stores_changed(stores)
        self.orders.stores_changed(stores)
        self.cluster.post("wake", what="stores", stores=sorted(stores))

    def consent_queued(self) -> None:
        self.consent.wake.set()
        self.cluster.post("wake", what="consent")

    def deliveries_queued(self, integration_ids: set[int]) -> None:
        self.outbox.wake(integration_ids)  # tells the holders of the others

    def integrations_changed(self) -> None:
        self.cluster.post("wake", what="integrations")
        self.cluster.poke()

    # ---- leases ----------------------------------------------------------------------

    def start_processor(self) -> None:
        if self._processor is None or self._processor.done():
            self._processor = asyncio.create_task(
                self.supervised("inbox processor", self.processor.run), name="inbox processor"
            )

    async def stop_processor(self) -> None:
        task, self._processor = self._processor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def leases_changed(self, gained: set[str], lost: set[str]) -> None:
        """Lost first (its work stops here), then gained (its work goes on from the
        committed state: the same paths a restart takes)."""
        if "inbox" in lost:
            await self.stop_processor()
        for name in lost:
            integration_id = integration_of(name)
            if integration_id is not None:
                await self.outbox.release(integration_id)
                await self.consent.release(integration_id)
                await self.syncs.release(integration_id)
                await self.orders.release(integration_id)
        if "inbox" in gained:
            self.start_processor()
            self.consent.wake.set()  # store-side consent events may wait to be fanned out
        taken = {i for i in map(integration_of, gained) if i is not None}
        if taken:
            await self.integrations.refresh()
            self.outbox.wake(taken)
            self.consent.wake.set()
            await self.syncs.resume(taken)
            await self.orders.catch_up(taken)

    async def beat(self) -> None:
        """At each beat, the work of the leases held looked for in the tables: a word
        from another daemon is only a wake-up, and one lost (the listening connection
        re-made, a send failed) delays work by a beat, never leaves it undone."""
        if self.cluster.holds("inbox"):
            self.processor.wake.set()
            self.consent.wake.set()
        held = {i for i in map(integration_of, self.cluster.running) if i is not None}
        if held:
            self.outbox.wake(held)
            self.consent.wake.set()
            await self.syncs.pickup(held)
            await self.orders.resume()

    # ---- what other daemons say ------------------------------------------------------

    def heard(self, message: dict[str, Any]) -> None:
        origin = str(message.get("from", ""))
        topic = message.get("topic")
        if topic == "events":
            for event in message.get("events", []):
                if isinstance(event, dict):
                    self.bus.relay(event, origin)
        elif topic == "wake":
            self._wake(message)
        elif topic == "sync":
            sync_id = int(message.get("sync", 0))
            if message.get("action") == "stop" and self.syncs.running(sync_id):
                self._soon(self.syncs.stop(sync_id))
            elif message.get("action") == "run":
                self._soon(self.syncs.pickup())

    def _wake(self, message: dict[str, Any]) -> None:
        what = message.get("what")
        if what == "inbox":
            self.processor.wake.set()
        elif what == "stores":
            stores = {str(s) for s in message.get("stores", [])}
            self.syncs.stores_changed(stores)
            self.orders.stores_changed(stores)
        elif what == "consent":
            self.consent.wake.set()
        elif what == "outbox":
            self.outbox.wake({int(i) for i in message.get("ids", [])})
        elif what == "orders":
            self._soon(self.orders.resume())
        elif what == "integrations":
            self._soon(self.refresh())

    async def refresh(self) -> None:
        """Integrations and routes as other daemons left them (at each beat, and when
        told): a connect, disconnect or route edit on one daemon reaches all."""
        added, removed = await self.integrations.refresh()
        await self.routes.catch_up()
        if added or removed:
            self.cluster.poke()  # their leases are to be taken (or given back) now

    async def refresh_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.refresh()

    def _soon(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as exc:
                self.log.error("work asked by another daemon failed", error=repr(exc)[:200])

        task = asyncio.ensure_future(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        await self.stop_processor()
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
