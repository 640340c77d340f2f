"""Exactly-once order export: a ledger row per order per integration, sent through the
outbox like every single write (the integration's worker, retries, dead letters, replay).

An order is queued (ledger and delivery in one commit), marked `sending` (committed) by
the outbox right before the provider is called, and `sent` with the outcome. After a
crash a `sending` row is the one order whose fate is unknown: where the provider dedupes
by our order id it is simply sent again (still one order there); where it does not
(SALESmanago) it is held back as `in_doubt` and listed for a human instead of risking a
duplicate purchase. A send that timed out there is in doubt the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict, dataclass, field
from typing import Any

from ..clock import Clock, isoformat
from ..db import Database
from ..db import orders as ledger
from ..db import outbox as outbox_rows
from ..db.outbox import SYSTEM_ROUTE, NewDelivery
from ..integrations import IntegrationManager, UnknownIntegration
from ..log import Logger
from ..model import StoreOrder
from .changes import StoreChanges
from .mapping import ineligible
from .outbox import Outbox

PAGE = 200
REPORT_WAIT_SECONDS = 20.0  # an export waits this long for first outcomes to report
REPORT_POLL_SECONDS = 0.1
FEED_RETRY_SECONDS = 60.0  # a followed feed that stopped tries again after this


@dataclass
class ExportReport:
    sent: int = 0
    failed: int = 0
    resent: int = 0
    in_doubt: int = 0
    stopped: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def _key(order_id: str) -> str:
    return f"order:{order_id}"


class OrderExporter:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        integrations: IntegrationManager,
        outbox: Outbox,
    ) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.outbox = outbox
        self.integrations = integrations
        self._locks: dict[int, asyncio.Lock] = {}
        self._feeds: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self.changes = StoreChanges()

    def _now(self) -> str:
        return isoformat(self.clock.now())

    async def follow(self, integration_id: int, mode: str) -> ExportReport:
        """Export the integration's orders now and, `active`, every paid order after. The
        wish is recorded before the export starts: killed during it, the daemon resumes."""
        await ledger.follow(self.db, integration_id, mode, self._now())
        return await self.export(integration_id)

    async def export(self, integration_id: int) -> ExportReport:
        """Send every confirmed/paid order not yet at the destination; one export at a time."""
        lock = self._locks.setdefault(integration_id, asyncio.Lock())
        async with lock:
            started = self._now()
            report = await self._export(integration_id)
            if not report.stopped:  # asked-for exports up to its start are done
                await ledger.finished(self.db, integration_id, started)
            return report

    async def _export(self, integration_id: int) -> ExportReport:
        """Queue every order not yet at the destination on the outbox (ledger `queued`
        with its delivery, in one commit), then wait a while for the outcomes to report.
        The outbox sends them: the integration's own worker, timeout, retries, dead
        letters and replay; the ledger keeps each order exactly once."""
        live = self.integrations.get(integration_id)
        store = live.integration.store
        report = ExportReport()
        sending = await outbox_rows.open_keys(self.db, integration_id, "export_order")
        asked: list[str] = []
        for order in await ledger.interrupted(self.db, integration_id, store):
            if _key(order.id) in sending:
                asked.append(order.id)  # its delivery is still open: the worker judges it
            elif live.provider.orders_idempotent:
                report.resent += 1
                await self._queue(integration_id, [order])
                asked.append(order.id)
            else:
                report.in_doubt += 1
                await ledger.mark(
                    self.db,
                    integration_id,
                    order.id,
                    "in_doubt",
                    "the daemon stopped while sending; check the destination "
                    "before sending it again",
                    self._now(),
                )
                self.log.warning(
                    "order export in doubt", integration=integration_id, order=order.id
                )
        cursor = 0
        while True:
            batch = await ledger.unexported(
                self.db, integration_id, store, after=cursor, limit=PAGE
            )
            if not batch:
                break
            cursor = batch[-1][1]
            await self._queue(integration_id, [order for order, _ in batch])
            asked += [order.id for order, _ in batch]
        # The report covers what this export asked for and what was already under way
        # (an earlier export, or one a crash cut off, which the outbox now finishes).
        asked = sorted({*asked, *await ledger.under_way(self.db, integration_id)})
        self.outbox.wake({integration_id})
        outcome = await self._outcomes(integration_id, asked)
        report.sent = outcome.get("sent", 0)
        report.failed = outcome.get("failed", 0)
        report.in_doubt += outcome.get("in_doubt", 0)
        waiting = outcome.get("queued", 0) + outcome.get("sending", 0)
        if waiting:
            report.stopped = (
                f"{waiting} orders still being sent; they go on by themselves "
                f"(patchbay deliveries list --route 0 --integration "
                f"{integration_id})"
            )
        report.problems = await ledger.problems(self.db, integration_id)
        self.log.info(
            "orders exported",
            integration=integration_id,
            sent=report.sent,
            failed=report.failed,
            resent=report.resent,
            in_doubt=report.in_doubt,
            waiting=waiting,
        )
        return report

    async def _queue(self, integration_id: int, orders: list[StoreOrder]) -> None:
        """Ledger rows and deliveries in one commit. An order whose address a sync would
        filter (invalid, role, none) is never sent: its ledger row says so, and its
        delivery is dead at once, listed with the reason."""
        live = self.integrations.get(integration_id)
        now = self._now()
        deliveries = []
        async with self.db.transaction() as conn:
            for order in orders:
                refused = ineligible(order.email)
                await ledger.mark_in(
                    conn,
                    integration_id,
                    order.id,
                    "ineligible" if refused else "queued",
                    refused,
                    now,
                )
                await outbox_rows.requeue(conn, integration_id, _key(order.id), now)
                deliveries.append(
                    NewDelivery(
                        SYSTEM_ROUTE,
                        "orders",
                        integration_id,
                        order.store,
                        f"order.{order.status}",
                        f"order:{order.id}",
                        0,
                        "export_order",
                        (order.email or f"order:{order.id}").lower(),
                        _key(order.id),
                        asdict(order),
                        live.provider.http.timeout,
                        refused,
                    )
                )
            await outbox_rows.enqueue(conn, deliveries, now)

    async def _outcomes(self, integration_id: int, order_ids: list[str]) -> dict[str, int]:
        """Ledger states of these orders once each has had its first attempt (or the wait
        is over): the report of an export, without holding its caller for long."""
        deadline = self.clock.monotonic() + REPORT_WAIT_SECONDS
        while True:
            found = await ledger.states(self.db, integration_id, order_ids)
            counts: dict[str, int] = {}
            for state in found.values():
                counts[state] = counts.get(state, 0) + 1
            if not (counts.get("queued") or counts.get("sending")) or (
                self.clock.monotonic() >= deadline
            ):
                return counts
            try:
                self.integrations.get(integration_id)
            except UnknownIntegration:
                return counts  # disconnected meanwhile: its deliveries end there
            await asyncio.sleep(REPORT_POLL_SECONDS)

    # ---- following new orders ----------------------------------------------------------

    def stores_changed(self, stores: set[str]) -> None:
        self.changes.notify(stores)

    async def follow_changes(self) -> None:
        """Each followed integration exports in its own task: a provider that takes its
        whole timeout per order delays its own feed, never another integration's."""
        # First catch up: orders that arrived while the daemon was down, and any export
        # that a crash cut off, go now rather than at the store's next change.
        for integration_id in await ledger.unfinished(self.db):
            self._kick(integration_id)
        try:
            while True:
                changed = await self.changes.next()
                for integration_id in await ledger.followed(self.db):
                    with contextlib.suppress(UnknownIntegration):
                        if self.integrations.get(integration_id).integration.store in changed:
                            self._kick(integration_id)
        finally:
            for task in self._feeds.values():
                task.cancel()

    def _kick(self, integration_id: int) -> None:
        """Export now, or once more after the export under way (which may have missed
        the orders that just arrived)."""
        self._again.add(integration_id)
        task = self._feeds.get(integration_id)
        if task is None or task.done():
            self._feeds[integration_id] = asyncio.create_task(self._feed(integration_id))

    async def _feed(self, integration_id: int) -> None:
        while integration_id in self._again:
            self._again.discard(integration_id)
            try:
                report = await self.export(integration_id)
            except UnknownIntegration:
                return
            except Exception as exc:  # logged; tried again below, not only at a change
                self.log.error(
                    "order export failed",
                    integration=integration_id,
                    error=f"{type(exc).__name__}: {str(exc)[:200]}",
                )
                report = ExportReport(stopped="failed")
            if report.stopped and integration_id not in self._again:
                # The provider was unavailable: try again later by itself, even if the
                # store stays quiet (the orders are waiting in the ledger meanwhile).
                await asyncio.sleep(FEED_RETRY_SECONDS)
                self._again.add(integration_id)
