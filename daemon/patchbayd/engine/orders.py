"""Exactly-once order export: a ledger row per order per integration.

The order is marked `sending` (committed) before the provider is called and `sent`
(committed) as soon as it answered. After a crash a `sending` row is the one order whose
fate is unknown: where the provider dedupes by our order id it is simply sent again
(still one order there); where it does not (SALESmanago) it is held back as `in_doubt`
and listed for a human instead of risking a duplicate purchase.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..clock import Clock, isoformat, parse_time
from ..db import Database
from ..db import orders as ledger
from ..integrations import IntegrationManager, UnknownIntegration
from ..log import Logger
from ..model import StoreOrder
from ..providers.base import OrderPayload
from ..providers.errors import AuthFailed, CapacityExceeded, Rejected, Transient
from .changes import StoreChanges

PAGE = 200
TRANSIENT_LIMIT = 3  # consecutive transient failures before an export stops for now
FEED_RETRY_SECONDS = 60.0  # a followed feed that stopped tries again after this


@dataclass
class ExportReport:
    sent: int = 0
    failed: int = 0
    resent: int = 0
    in_doubt: int = 0
    stopped: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def payload(order: StoreOrder) -> OrderPayload:
    return OrderPayload(
        id=order.id, email=order.email, status=order.status, total=order.total,
        currency=order.currency,
        created_at=parse_time(order.created_at) or datetime(1970, 1, 1, tzinfo=UTC),
        items=tuple(order.items))


class OrderExporter:
    def __init__(self, db: Database, clock: Clock, log: Logger,
                 integrations: IntegrationManager) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.integrations = integrations
        self._locks: dict[int, asyncio.Lock] = {}
        self._feeds: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self.changes = StoreChanges()

    def _now(self) -> str:
        return isoformat(self.clock.now())

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
        live = self.integrations.get(integration_id)
        store = live.integration.store
        report = ExportReport()
        for order in await ledger.interrupted(self.db, integration_id, store):
            if live.provider.orders_idempotent:
                report.resent += 1
                await self._send(integration_id, order, report)
            else:
                report.in_doubt += 1
                await ledger.mark(self.db, integration_id, order.id, "in_doubt",
                                  "the daemon stopped while sending; check the destination "
                                  "before sending it again", self._now())
                self.log.warning("order export in doubt", integration=integration_id,
                                 order=order.id)
        transient, cursor = 0, 0
        while not report.stopped:
            batch = await ledger.unexported(self.db, integration_id, store, after=cursor,
                                            limit=PAGE)
            if not batch:
                break
            cursor = batch[-1][1]
            for order, _seq in batch:
                ok = await self._send(integration_id, order, report)
                transient = 0 if ok is not False else transient + 1
                if transient >= TRANSIENT_LIMIT:
                    report.stopped = "provider unavailable; the rest waits for the next export"
                if report.stopped:
                    break
        report.problems = await ledger.problems(self.db, integration_id)
        self.log.info("orders exported", integration=integration_id, sent=report.sent,
                      failed=report.failed, resent=report.resent, in_doubt=report.in_doubt,
                      stopped=report.stopped or "")
        return report

    async def _send(self, integration_id: int, order: StoreOrder,
                    report: ExportReport) -> bool | None:
        """True sent; False transient failure; None refused for good (this time)."""
        await ledger.mark(self.db, integration_id, order.id, "sending", None, self._now())
        try:
            await self.integrations.call(integration_id, f"order {order.id} exported",
                                         lambda p: p.export_order(payload(order)))
        except Transient as exc:
            live = self.integrations.get(integration_id)
            if exc.maybe_delivered and not live.provider.orders_idempotent:
                # It may have arrived: sending again could make a second purchase.
                report.in_doubt += 1
                await ledger.mark(self.db, integration_id, order.id, "in_doubt",
                                  f"{exc.reason}; it may have arrived: check before sending "
                                  "it again", self._now())
                return False
            await self._failed(integration_id, order, report, exc.reason)
            return False
        except (AuthFailed, CapacityExceeded) as exc:
            await self._failed(integration_id, order, report, exc.reason)
            report.stopped = exc.reason
            return None
        except Rejected as exc:
            await self._failed(integration_id, order, report, exc.reason)
            return None
        await ledger.mark(self.db, integration_id, order.id, "sent", None, self._now())
        report.sent += 1
        return True

    async def _failed(self, integration_id: int, order: StoreOrder, report: ExportReport,
                      reason: str) -> None:
        await ledger.mark(self.db, integration_id, order.id, "failed", reason, self._now())
        report.failed += 1
        report.problems.append({"order": order.id, "reason": reason})

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
                self.log.error("order export failed", integration=integration_id,
                               error=f"{type(exc).__name__}: {str(exc)[:200]}")
                report = ExportReport(stopped="failed")
            if report.stopped and integration_id not in self._again:
                # The provider was unavailable: try again later by itself, even if the
                # store stays quiet (the orders are waiting in the ledger meanwhile).
                await asyncio.sleep(FEED_RETRY_SECONDS)
                self._again.add(integration_id)
