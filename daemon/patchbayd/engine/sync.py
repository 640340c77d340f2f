"""The sync engine: scan -> map -> filter -> diff -> batch -> send -> record -> checkpoint.

A run pages through the store's customers in `seq` order (the inbox id that last changed
each one), after first retrying the customers whose last send failed. Each batch's
per-row results and the run's cursor are committed together, so a run killed at any
moment resumes after the last batch the provider acknowledged and skips nothing.
Incremental runs scan only what changed since the last finished run; a customer whose
mapped payload hash matches its last successful send is not sent again.

Every sync runs in its own task and talks to its provider through the integration's own
client and limiter: a slow or failing destination never delays another one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .. import metrics
from ..bus import Bus
from ..clock import Clock, isoformat, parse_time
from ..db import Database
from ..db import syncs as rows
from ..db.syncs import ScanRow
from ..integrations import IntegrationManager, UnknownIntegration
from ..log import Logger
from ..model import Sync, SyncRun
from ..providers.base import Contact, Provider, RowResult
from ..providers.errors import AuthFailed, CapacityExceeded, ProviderError, Rejected, Transient
from .changes import StoreChanges
from .mapping import SyncRules
from .plan import RunCounts, Sample, plan_batch

PAGE_MAX = 1000
TRANSIENT_RETRIES = (1.0, 2.0, 4.0)
SAMPLES = 10
RETRY_ERRORS_EVERY = 60.0  # active syncs in error (provider down ...) are retried this often


class NoDestination(Exception):
    """The list a sync names does not fit its provider (or is not there)."""


class StopRun(Exception):
    """The run cannot go on (auth, capacity, a destination that is gone, provider down)."""


def rules_of(sync: Sync) -> SyncRules:
    data = sync.rules
    return SyncRules(
        mapping=dict(data.get("mapping") or {}),
        tags=tuple(data.get("tags") or ()),
        export_opted_out=bool(data.get("export_opted_out")),
        acquired_since=parse_time(data.get("acquired_since")),
        acquired_until=parse_time(data.get("acquired_until")),
    )


@dataclass
class Report:
    """What a run did (or, dry, would do): the counts and a few samples of each kind."""

    counts: RunCounts = field(default_factory=RunCounts)
    would_send: list[dict[str, Any]] = field(default_factory=list)
    filtered: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    capacity: dict[str, int] | None = None

    def sample(self, kind: str, found: list[Sample]) -> None:
        kept: list[dict[str, Any]] = getattr(self, kind)
        for one in found[: max(0, SAMPLES - len(kept))]:
            kept.append({"customer": one.customer, "email": one.email, "reason": one.reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts.as_dict(),
            "would_send": self.would_send,
            "filtered": self.filtered,
            "failures": self.failures,
            "capacity": self.capacity,
        }


class SyncEngine:
    def __init__(
        self, db: Database, clock: Clock, log: Logger, bus: Bus, integrations: IntegrationManager
    ) -> None:
        self.db, self.clock, self.log, self.bus = db, clock, log, bus
        self.integrations = integrations
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._integration_of: dict[int, int] = {}  # sync id -> its integration (release)
        self.changes = StoreChanges()
        # Word for the daemon that holds a sync's integration, when it is another one:
        # ("run" | "stop", sync id). Nothing to say on SQLite (one daemon holds all).
        self.tell: Callable[[str, int], None] = lambda _what, _sync_id: None

    # ---- lifecycle -------------------------------------------------------------------

    async def resume(self, integration_ids: set[int] | None = None) -> None:
        """At start (or on taking integrations over from another daemon): finish runs a
        crash interrupted, catch active syncs up, and run what was asked elsewhere."""
        mine = [
            sync
            for sync in await rows.live(self.db)
            if self.integrations.mine(sync.integration_id)
            and (integration_ids is None or sync.integration_id in integration_ids)
        ]
        asked = set(await rows.take_requested(self.db, [sync.id for sync in mine]))
        for sync in mine:
            if (
                sync.id in asked
                or sync.state == "running"
                or (sync.mode == "active" and sync.state != "stopped")
            ):
                self.request(sync.id)

    async def pickup(self, integration_ids: set[int] | None = None) -> None:
        """Runs other daemons asked for, of syncs whose integration this one holds."""
        mine = [
            sync
            for sync in await rows.live(self.db)
            if self.integrations.mine(sync.integration_id)
            and (integration_ids is None or sync.integration_id in integration_ids)
        ]
        for sync_id in await rows.take_requested(self.db, [sync.id for sync in mine]):
            self.request(sync_id)

    async def release(self, integration_id: int) -> None:
        """This daemon no longer holds the integration: its runs stop here, left
        `running` in the table for the daemon that holds it now to resume. (No database
        read: it must work while the database is away, which is when leases lapse.)"""
        for sync_id, of in list(self._integration_of.items()):
            if of == integration_id:
                task = self._tasks.pop(sync_id, None)
                self._again.discard(sync_id)
                if task is not None:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

    async def watch_errors(self) -> None:
        while True:
            await asyncio.sleep(RETRY_ERRORS_EVERY)
            for sync in await rows.live(self.db):
                if sync.mode == "active" and sync.state == "error":
                    self.request(sync.id)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def stores_changed(self, stores: set[str]) -> None:
        """Called after new customer data is committed: active syncs follow by themselves."""
        self.changes.notify(stores)

    async def follow_changes(self) -> None:
        while True:
            changed = await self.changes.next()
            for sync in await rows.live(self.db):
                if sync.mode != "active" or sync.state in ("stopped", "idle"):
                    continue
                try:
                    store = self.integrations.get(sync.integration_id).integration.store
                except UnknownIntegration:
                    continue
                if store in changed:
                    self.request(sync.id)

    def running(self, sync_id: int) -> bool:
        task = self._tasks.get(sync_id)
        return task is not None and not task.done()

    def request(self, sync_id: int) -> None:
        """Run now, or once more right after the run under way."""
        if self.running(sync_id):
            self._again.add(sync_id)
            return
        self._tasks[sync_id] = asyncio.ensure_future(self._loop(sync_id))

    async def create(
        self,
        *,
        integration_id: int,
        segment: str,
        destination: str | None,
        mode: str,
        rules: dict[str, Any],
    ) -> Sync:
        """A new sync, stored, and its first run requested."""
        sync = await rows.create(
            self.db,
            integration_id=integration_id,
            segment=segment,
            destination=destination,
            mode=mode,
            rules=rules,
            now=isoformat(self.clock.now()),
        )
        self.log.info(
            "sync created", sync=sync.id, integration=integration_id, segment=segment, mode=mode
        )
        self.request(sync.id)
        return sync

    async def destination(self, integration_id: int, wanted: str | None) -> str | None:
        """The list id a new sync sends to: `wanted` by id or name, made at a provider that
        makes lists on demand; None where the provider has no lists. NoDestination says
        what to give instead; ProviderError when the lists cannot be read."""
        live = self.integrations.get(integration_id)
        name, provider = live.integration.provider, live.provider
        if not provider.has_lists:
            if wanted:
                raise NoDestination(f"{name} has no lists; drop --list")
            return None
        if not wanted:
            raise NoDestination(f"{name} needs --list (a list id or name)")
        found = await self.integrations.call(
            integration_id, "lists read", lambda p: p.destinations(), anywhere=True
        )
        for item in found:
            if wanted in (item.id, item.name):
                return item.id
        if provider.creates_destinations:
            made = await self.integrations.call(
                integration_id,
                f"list {wanted} created",
                lambda p: p.ensure_destination(wanted),
                anywhere=True,
            )
            return made.id
        names = ", ".join(f"{d.id} ({d.name})" for d in found) or "none"
        raise NoDestination(f"no list {wanted!r} at {name}; lists: {names}")

    async def start(self, sync: Sync) -> None:
        """A stopped (or finished) sync runs again; one running goes on as it is."""
        await rows.set_state(
            self.db, sync.id, "idle" if sync.state != "running" else "running", None
        )
        self.request(sync.id)

    async def delete(self, sync_id: int) -> None:
        await self.stop(sync_id)
        await rows.delete(self.db, sync_id, isoformat(self.clock.now()))
        self.log.info("sync deleted", sync=sync_id)

    async def stop(self, sync_id: int) -> None:
        # The state first: a run requested while we wait below sees it and does nothing.
        await rows.set_state(self.db, sync_id, "stopped", None)
        if sync_id not in self._tasks:
            self.tell("stop", sync_id)  # it may be running on another daemon
        task = self._tasks.pop(sync_id, None)
        self._again.discard(sync_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        unfinished = await rows.unfinished_run(self.db, sync_id)
        now = isoformat(self.clock.now())
        if unfinished is not None:
            await rows.finish_run(
                self.db,
                unfinished,
                state="stopped",
                counts=unfinished.counts,
                error=None,
                sync_state="stopped",
                now=now,
            )
        self.log.info("sync stopped", sync=sync_id)

    async def _loop(self, sync_id: int) -> None:
        try:
            while True:
                self._again.discard(sync_id)
                await self._run_once(sync_id)
                if sync_id not in self._again:
                    return
        except Exception as exc:  # a bug must not kill the daemon; it must be seen
            self.log.error("sync run crashed", sync=sync_id, error=repr(exc))
            try:
                run = await rows.unfinished_run(self.db, sync_id)
                if run is not None:
                    await rows.finish_run(
                        self.db,
                        run,
                        state="failed",
                        counts=run.counts,
                        error=f"internal error: {exc!r}",
                        sync_state="error",
                        now=isoformat(self.clock.now()),
                    )
            except Exception as again:  # the database itself is failing: say so, go on
                self.log.error("could not record the crashed run", sync=sync_id, error=repr(again))

    # ---- a run -----------------------------------------------------------------------

    async def _run_once(self, sync_id: int) -> None:
        sync = await rows.get(self.db, sync_id)
        if sync is None or sync.state == "stopped":
            return  # deleted, or stopped since the run was requested
        self._integration_of[sync_id] = sync.integration_id
        if not self.integrations.mine(sync.integration_id):
            # Another daemon holds the integration: the run is owed there.
            await rows.mark_requested(self.db, sync_id, isoformat(self.clock.now()))
            self.tell("run", sync_id)
            return
        try:
            live = self.integrations.get(sync.integration_id)
        except UnknownIntegration:
            await rows.set_state(self.db, sync_id, "error", "integration disconnected")
            return
        store = live.integration.store
        run = await rows.unfinished_run(self.db, sync_id)
        resumed = run is not None
        if run is None:
            upto = await rows.max_seq(self.db, store)
            if await self._up_to_date(sync, store, upto):
                return
            run = await rows.open_run(
                self.db,
                sync_id,
                full=sync.seq_done == 0,
                upto=upto,
                start=sync.seq_done,
                now=isoformat(self.clock.now()),
            )
        self.log.info(
            "sync run started" if not resumed else "sync run resumed",
            sync=sync_id,
            run=run.id,
            integration=sync.integration_id,
            full=run.full,
        )
        await self.integrations.set_state(sync.integration_id, "syncing", None)
        counts = RunCounts.from_dict(run.counts)
        if counts.total is None:
            counts.total = await rows.to_scan(
                self.db,
                sync_id,
                store,
                sync.segment,
                after=run.cursor_seq,
                upto=run.upto_seq,
                new_since=self._new_since(),
            )
        report = Report(counts)
        try:
            if not resumed:
                await self._check_capacity(sync, store, live.provider, report)
            await self._pass(sync, run, store, report, dry=False)
        except StopRun as exc:
            await self._finish(sync, run, report, "failed", str(exc))
            return
        await self._finish(sync, run, report, "done", None)
        if resumed and sync.mode == "active":
            # A run cut off (a restart, another daemon's death) covered the rows up to
            # where it began; what came meanwhile was announced to no one still running
            # it, so the sync looks once more now.
            self._again.add(sync_id)

    async def _up_to_date(self, sync: Sync, store: str, upto: int) -> bool:
        """An active sync that is following (not in error, not asked to start) and has
        nothing to look at: no segment member changed since its last finished run and no
        failed row to retry. Such a catch-up (at every start, at every change outside the
        segment) opens no run, so the history holds runs that did something; it only
        moves the sync's mark past the rows it had no business with, as a run would."""
        if sync.mode != "active" or sync.state != "active":
            return False
        waiting = await rows.to_scan(
            self.db,
            sync.id,
            store,
            sync.segment,
            after=sync.seq_done,
            upto=upto,
            new_since=self._new_since(),
        )
        if waiting:
            return False
        await rows.advance(self.db, sync.id, upto)
        self.log.debug("sync up to date: no run", sync=sync.id, upto=upto)
        return True

    async def _finish(
        self, sync: Sync, run: SyncRun, report: Report, state: str, error: str | None
    ) -> None:
        sync_state = "error" if error else "active" if sync.mode == "active" else "done"
        metrics.current().sync_run_ended(
            sync.id, sync.integration_id, state, run.started_at, self.clock.now()
        )
        await rows.finish_run(
            self.db,
            run,
            state=state,
            counts=report.counts.as_dict(),
            error=error,
            sync_state=sync_state,
            now=isoformat(self.clock.now()),
        )
        self._progress(sync.id, run.id, report.counts, done=True)
        if error:
            self.log.warning("sync run failed", sync=sync.id, run=run.id, reason=error)
        else:
            self.log.info(
                "sync run finished",
                sync=sync.id,
                run=run.id,
                sent=report.counts.sent,
                failed=report.counts.failed,
                filtered=sum(report.counts.filtered.values()),
                unchanged=report.counts.unchanged,
            )
        with contextlib.suppress(UnknownIntegration):
            live_state = self.integrations.get(sync.integration_id).integration.state
            if live_state != "error":
                await self.integrations.set_state(
                    sync.integration_id,
                    "active" if sync.mode == "active" and not error else "connected",
                    None,
                )

    async def _check_capacity(
        self, sync: Sync, store: str, provider: Provider, report: Report
    ) -> None:
        try:
            capacity = await self.integrations.call(
                sync.integration_id, "capacity checked", lambda p: p.capacity()
            )
        except ProviderError as exc:
            raise StopRun(f"cannot check capacity: {exc.reason}") from None
        if capacity is None:
            return
        needed = await rows.candidates(
            self.db, store, sync.segment, sync.id, new_since=self._new_since()
        )
        report.capacity = {"needed": needed, "free": capacity.free, "limit": capacity.limit}
        if needed > capacity.free:
            raise StopRun(f"capacity: needs {needed}, has {capacity.free}")

    def _new_since(self) -> str:
        return isoformat(self.clock.now() - timedelta(days=30))

    async def _pass(
        self, sync: Sync, run: SyncRun, store: str, report: Report, *, dry: bool
    ) -> None:
        """Failed rows first, then everything changed since the last finished run."""
        rules = rules_of(sync)
        provider = self.integrations.get(sync.integration_id).provider
        page = max(1, min(provider.batch_size, PAGE_MAX))
        started = self.clock.monotonic()
        if not run.retry_done:
            after = ""
            while True:
                batch = await rows.failed_rows(
                    self.db,
                    sync.id,
                    store,
                    sync.segment,
                    after=after,
                    limit=page,
                    new_since=self._new_since(),
                )
                if not batch:
                    break
                after = batch[-1][0].id
                report.counts.retried += len(batch)
                await self._batch(
                    sync, run, rules, batch, report, dry=dry, cursor=None, retry_done=False
                )
        cursor = run.cursor_seq
        while True:
            batch = await rows.scan(
                self.db,
                store,
                sync.segment,
                after=cursor,
                upto=run.upto_seq,
                limit=page,
                new_since=self._new_since(),
            )
            if not batch:
                break
            cursor = batch[-1][1]
            await self._batch(
                sync, run, rules, batch, report, dry=dry, cursor=cursor, retry_done=True
            )
            if not dry:
                elapsed = max(self.clock.monotonic() - started, 1e-6)
                report.counts.rate = round(report.counts.sent / elapsed, 1)
                self._progress(
                    sync.id, run.id, report.counts, done=False, total=run.upto_seq, cursor=cursor
                )

    async def _batch(
        self,
        sync: Sync,
        run: SyncRun,
        rules: SyncRules,
        batch: list[ScanRow],
        report: Report,
        *,
        dry: bool,
        cursor: int | None,
        retry_done: bool,
    ) -> None:
        """Plan (pure), send, record: the ledger rows and the cursor in one commit."""
        previous = await rows.states(self.db, sync.id, [c.id for c, _, _ in batch])
        plan = plan_batch(batch, previous, rules, sync.destination, dry=dry)
        counts = report.counts
        counts.absorb(plan)
        report.sample("filtered", plan.filtered)
        report.sample("failures", plan.unsendable)
        if dry:
            counts.would_send = (counts.would_send or 0) + len(plan.send)
            for planned in plan.send[: max(0, SAMPLES - len(report.would_send))]:
                report.would_send.append(
                    {
                        "customer": planned.customer_id,
                        "email": planned.contact.email,
                        "properties": dict(planned.contact.properties),
                    }
                )
            return
        metrics.current().sync_planned(
            sync.id,
            sync.integration_id,
            [f.reason for f in plan.filtered],
            plan.unchanged,
            len(plan.unsendable),
        )
        outcome = list(plan.settled)
        if plan.send:
            results = await self._send(sync, [p.contact for p in plan.send])
            metrics.current().sync_sent(sync.id, sync.integration_id, results)
            for planned, result in zip(plan.send, results, strict=True):
                if result.ok:
                    counts.sent += 1
                    outcome.append((planned.customer_id, planned.digest, "sent", None))
                else:
                    counts.failed += 1
                    outcome.append((planned.customer_id, None, "failed", result.reason))
                    report.sample(
                        "failures",
                        [
                            Sample(
                                planned.customer_id,
                                planned.contact.email,
                                result.reason or "refused",
                            )
                        ],
                    )
        await rows.record(
            self.db,
            run,
            outcome,
            cursor_seq=cursor,
            retry_done=retry_done,
            counts=counts.as_dict(),
            now=isoformat(self.clock.now()),
        )

    async def _send(self, sync: Sync, contacts: list[Contact]) -> list[RowResult]:
        """One batch; transient trouble is retried a few times, then the run stops."""
        for attempt, pause in enumerate((*TRANSIENT_RETRIES, None)):
            try:
                return await self.integrations.call(
                    sync.integration_id,
                    f"sync {sync.id}: {len(contacts)} contacts sent",
                    lambda p: p.upsert_contacts(sync.destination, contacts),
                )
            except Transient as exc:
                if pause is None:
                    raise StopRun(f"provider unavailable: {exc.reason}") from None
                self.log.warning(
                    "sync batch failed; retrying",
                    sync=sync.id,
                    attempt=attempt + 1,
                    reason=exc.reason,
                )
                await asyncio.sleep(pause)
            except (AuthFailed, CapacityExceeded) as exc:
                raise StopRun(exc.reason) from None
            except Rejected as exc:
                raise StopRun(f"destination refused the batch: {exc.reason}") from None
        raise AssertionError("unreachable")

    def _progress(
        self,
        sync_id: int,
        run_id: int,
        counts: RunCounts,
        *,
        done: bool,
        total: int | None = None,
        cursor: int | None = None,
    ) -> None:
        self.bus.publish(
            ts=isoformat(self.clock.now()),
            kind="progress",
            level="info",
            component="sync",
            message="sync finished" if done else "sync progress",
            fields={
                "sync": sync_id,
                "run": run_id,
                "done": done,
                "cursor": cursor,
                "upto": total,
                **counts.as_dict(),
            },
        )

    # ---- dry run ---------------------------------------------------------------------

    async def dry_run(self, sync: Sync) -> Report:
        """Everything a run decides, nothing sent, nothing recorded."""
        live = self.integrations.get(sync.integration_id)
        store = live.integration.store
        upto = await rows.max_seq(self.db, store)
        run = SyncRun(
            id=0,
            sync_id=sync.id,
            state="dry",
            full=sync.seq_done == 0,
            upto_seq=upto,
            cursor_seq=sync.seq_done,
            retry_done=False,
            counts={},
            error=None,
            started_at="",
            finished_at=None,
        )
        report = Report()
        try:
            await self._check_capacity(sync, store, live.provider, report)
        except StopRun as exc:
            report.counts.refused = str(exc)
        await self._pass(sync, run, store, report, dry=True)
        return report
