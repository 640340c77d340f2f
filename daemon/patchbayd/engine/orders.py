"""Exactly-once order export: a ledger row per order per integration, sent through the
outbox like every single write (the integration's worker, retries, dead letters, replay).

An order is queued (ledger and delivery in one commit), marked `sending` (committed) by
the outbox right before the provider is called, and `sent` with the outcome. After a
crash a `sending` row is the one order whose fate is unknown: where the provider dedupes
by our order id it is simply sent again (still one order there); where it does not
(SALESmanago) it is held back as `in_doubt` and listed for a human instead of risking a
duplicate purchase. A send that timed out there is in doubt the same way.

An export someone asks for is a run (`request`): recorded, answered at once, and carried
out in the background, one per integration at a time (asking again while one runs returns
that one). Its orders are tagged in the ledger, so where it stands is read from the
database (`status`), published on the bus as `progress` events while it runs, and resumed
when a daemon stopped during it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..bus import Bus
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
RUN_POLL_SECONDS = 0.25  # a run reads its ledger rows this often while it waits
PROGRESS_EVERY_SECONDS = 1.0  # at most one progress event per run this often
STALL_SECONDS = 10.0  # failures and no order sent for this long: the provider is down


@dataclass
class ExportReport:
    sent: int = 0
    failed: int = 0
    resent: int = 0
    in_doubt: int = 0
    stopped: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def _shape(run: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """A running run with its counts read from its ledger rows."""
    return {
        **run,
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "in_doubt": counts.get("in_doubt", 0),
        "ineligible": counts.get("ineligible", 0),
        "waiting": counts.get("queued", 0) + counts.get("sending", 0),
    }


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
        bus: Bus,
    ) -> None:
        self.db, self.clock, self.log, self.bus = db, clock, log, bus
        self.outbox = outbox
        self.integrations = integrations
        self._locks: dict[int, asyncio.Lock] = {}
        self._feeds: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._runs: dict[int, asyncio.Task[None]] = {}  # integration id -> its run's task
        # Word for the other daemons that a run was recorded for one of theirs.
        self.tell: Callable[[], None] = lambda: None
        self._asking = asyncio.Lock()  # two requests at once still start one run
        self.changes = StoreChanges()

    def _now(self) -> str:
        return isoformat(self.clock.now())

    async def export(self, integration_id: int) -> ExportReport:
        """A feed's export: send every confirmed/paid order not yet at the destination,
        then wait a while for the outcomes to report (a run watches its own rows)."""
        report = ExportReport()
        async with self._locks.setdefault(integration_id, asyncio.Lock()):
            started = self._now()
            asked = await self._queue_all(integration_id, report, None)
        await self._report(integration_id, asked, report)
        if not report.stopped:  # asked-for exports up to its start are done
            await ledger.finished(self.db, integration_id, started)
        return report

    async def _report(self, integration_id: int, asked: list[str], report: ExportReport) -> None:
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

    async def _queue_all(
        self, integration_id: int, report: ExportReport, run: int | None
    ) -> list[str]:
        """Queue every order not yet at the destination on the outbox (ledger `queued`
        with its delivery, in one commit, tagged with the run that asked); the ids of the
        orders the export covers. The outbox sends them: the integration's own worker,
        timeout, retries, dead letters and replay; the ledger keeps each order once.
        Callers hold the integration's lock: one export queues at a time (waiting for
        outcomes needs no lock)."""
        live = self.integrations.get(integration_id)
        store = live.integration.store
        if run is not None:  # what is already under way (or was cut off) is this run's too
            await ledger.adopt_under_way(self.db, integration_id, run)
        sending = await outbox_rows.open_keys(self.db, integration_id, "export_order")
        asked: list[str] = []
        for order in await ledger.interrupted(self.db, integration_id, store):
            if _key(order.id) in sending:
                asked.append(order.id)  # its delivery is still open: the worker judges it
            elif live.provider.orders_idempotent:
                report.resent += 1
                await self._queue(integration_id, [order], run)
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
            await self._queue(integration_id, [order for order, _ in batch], run)
            asked += [order.id for order, _ in batch]
        # The report covers what this export asked for and what was already under way
        # (an earlier export, or one a crash cut off, which the outbox now finishes).
        asked = sorted({*asked, *await ledger.under_way(self.db, integration_id)})
        self.outbox.wake({integration_id})
        return asked

    async def _queue(
        self, integration_id: int, orders: list[StoreOrder], run: int | None = None
    ) -> None:
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
                    run,
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

    # ---- export runs: asked for, answered at once, carried out in the background -------

    async def request(self, integration_id: int, mode: str) -> tuple[dict[str, Any], bool]:
        """Start an export of the integration's orders in the background, or, when one is
        running, return that one (the feed's mode is updated; no second export starts):
        (where the run stands, whether it was already running)."""
        self.integrations.get(integration_id)  # UnknownIntegration: nothing recorded
        async with self._asking:
            current = await ledger.get_run(self.db, integration_id)
            if current is not None and current["state"] == "running":
                if current["mode"] != mode:
                    await ledger.set_mode(self.db, integration_id, current["id"], mode, self._now())
                self._launch(current)  # only if no task runs it (resumed at start, say)
                found = await self.status(integration_id, current["id"])
                assert found is not None
                return found, True
            run = await ledger.start_run(self.db, integration_id, mode, self._now())
            self._launch(run)
        self.log.info("order export started", integration=integration_id, export=run["id"])
        found = await self.status(integration_id, run["id"])
        assert found is not None
        return found, False

    async def status(self, integration_id: int, run_id: int | None = None) -> dict[str, Any] | None:
        """Where an export run stands (no id: the integration's newest), from the ledger:
        its rows' states while it runs, the counts it ended with after."""
        run = await ledger.get_run(self.db, integration_id, run_id)
        if run is None or run["state"] != "running":
            return run
        return _shape(run, await ledger.run_counts(self.db, run["id"]))

    def _launch(self, run: dict[str, Any]) -> None:
        integration_id = run["integration"]
        if not self.integrations.mine(integration_id):
            self.tell()  # recorded; the daemon holding the integration runs it (resume)
            return
        task = self._runs.get(integration_id)
        if task is None or task.done():
            self._runs[integration_id] = asyncio.create_task(
                self._run(run), name=f"order export {run['id']}"
            )

    async def resume(self) -> set[int]:
        """Runs a stopped daemon left `running` go on (their ledger rows say how far they
        got); the integrations they belong to."""
        resumed = set()
        for run in await ledger.running_runs(self.db):
            task = self._runs.get(run["integration"])
            if not self.integrations.mine(run["integration"]) or (task and not task.done()):
                continue
            self.log.info("order export resumed", integration=run["integration"], export=run["id"])
            self._launch(run)
            resumed.add(run["integration"])
        return resumed

    async def _run(self, run: dict[str, Any]) -> None:
        """One export run to its end: queue (once no other export is queueing), watch
        the ledger until every order has had its first attempt, record the outcome."""
        integration_id, run_id = run["integration"], run["id"]
        error: str | None = None
        try:
            async with self._locks.setdefault(integration_id, asyncio.Lock()):
                started = self._now()
                report = ExportReport()
                await self._queue_all(integration_id, report, run_id)
                counts = await ledger.run_counts(self.db, run_id)
                await ledger.set_run_total(self.db, run_id, sum(counts.values()), report.resent)
            run = {
                **run,
                "total": sum(counts.values()),
                "resent": (run.get("resent") or 0) + report.resent,
            }
            error = await self._watch(run)
            if error is None:  # asked-for exports up to its start are done
                await ledger.finished(self.db, integration_id, started)
        except UnknownIntegration:
            error = "the integration was disconnected"
        except Exception as exc:  # logged and recorded; the orders stay in the ledger
            error = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
            self.log.error("order export failed", integration=integration_id, error=error)
        # (Cancelled: the daemon is stopping; the run stays `running` and resumes at start.)
        try:
            counts = await ledger.run_counts(self.db, run_id)
            if error is None and counts.get("failed"):
                error = (
                    f"{counts['failed']} orders failed at the provider; `patchbay orders "
                    f"status {integration_id}` says why (the outbox retries those it can)"
                )
            state = "failed" if error else "done"
            await ledger.finish_run(self.db, run_id, state, counts, error, self._now())
            final = await self.status(integration_id, run_id)
            if final is not None:
                self._publish(final, done=True)
            (self.log.info if state == "done" else self.log.warning)(
                "order export finished" if state == "done" else "order export failed",
                integration=integration_id,
                export=run_id,
                sent=counts.get("sent", 0),
                failed=counts.get("failed", 0),
                in_doubt=counts.get("in_doubt", 0),
                ineligible=counts.get("ineligible", 0),
                error=error,
            )
        except Exception as exc:  # the database went away under it (stopping): logged
            self.log.error(
                "order export could not be recorded",
                integration=integration_id,
                export=run_id,
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
            )

    async def _watch(self, run: dict[str, Any]) -> str | None:
        """Follow the run's ledger rows until each has had its first attempt, publishing
        progress; None, or why it stopped watching first (the integration went away; the
        provider failing with nothing getting through for STALL_SECONDS: the orders wait
        in the outbox, which goes on by itself)."""
        integration_id, run_id = run["integration"], run["id"]
        last: dict[str, int] | None = None
        published = float("-inf")
        through, moved = -1, self.clock.monotonic()
        while True:
            counts = await ledger.run_counts(self.db, run_id)
            now = self.clock.monotonic()
            # Through for good: a failed order may be tried again and fail again, which
            # is no progress (a provider that is down keeps the failed count moving).
            good = sum(counts.get(s, 0) for s in ("sent", "in_doubt", "ineligible"))
            if good != through:
                through, moved = good, now
            if counts != last and now - published >= PROGRESS_EVERY_SECONDS:
                last, published = counts, now
                self._publish(_shape(run, counts), done=False)
            waiting = counts.get("queued", 0) + counts.get("sending", 0)
            if not waiting:
                return None
            try:
                live = self.integrations.get(integration_id)
            except UnknownIntegration:
                return "the integration was disconnected; its orders were not sent"
            if counts.get("failed") and now - moved >= STALL_SECONDS:
                why = live.unreachable or "every attempt failed"
                return (
                    f"the provider is not taking orders ({why}); {waiting} orders wait in "
                    f"the outbox and go on by themselves (patchbay deliveries list "
                    f"--route 0 --integration {integration_id})"
                )
            await asyncio.sleep(RUN_POLL_SECONDS)

    def _publish(self, data: dict[str, Any], *, done: bool) -> None:
        self.bus.publish(
            ts=self._now(),
            kind="progress",
            level="info",
            component="orders",
            message="order export finished" if done else "order export progress",
            fields={**data, "export": data["id"], "done": done},
        )

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
        # First catch up: export runs and any export that a crash cut off, and orders
        # that arrived while the daemon was down, go now rather than at the next change.
        resumed = await self.resume()
        for integration_id in await ledger.unfinished(self.db):
            if integration_id not in resumed:  # the run covers them
                self._kick(integration_id)
        try:
            while True:
                changed = await self.changes.next()
                for integration_id in await ledger.followed(self.db):
                    with contextlib.suppress(UnknownIntegration):
                        if self.integrations.get(integration_id).integration.store in changed:
                            self._kick(integration_id)
        finally:
            for task in [*self._feeds.values(), *self._runs.values()]:
                task.cancel()

    async def release(self, integration_id: int) -> None:
        """This daemon no longer holds the integration: its export and feed stop here;
        the run stays `running` in the table and the new holder resumes it."""
        self._again.discard(integration_id)
        tasks = [
            t
            for t in (self._runs.pop(integration_id, None), self._feeds.pop(integration_id, None))
            if t
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def catch_up(self, integration_ids: set[int]) -> None:
        """Integrations this daemon just took over: runs and feeds go on from the ledger."""
        resumed = await self.resume()
        for integration_id in await ledger.unfinished(self.db):
            if integration_id in integration_ids and integration_id not in resumed:
                self._kick(integration_id)

    def _kick(self, integration_id: int) -> None:
        """Export now, or once more after the export under way (which may have missed
        the orders that just arrived)."""
        if not self.integrations.mine(integration_id):
            return  # its holder follows the same store changes
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
