"""Applies consent decisions: each integration's worker reads its queued consent events
in event-time order, asks `consent.decide`, does what it says, audits every one.

Store-side changes are fanned out to one event per integration of the store (in one
commit), so every integration decides its own queue and a provider that is slow or
down delays only itself; provider callbacks come from one integration and are written
back to the store through the store writer (Shopify through its shared client; a push
store in patchbay's own customer table, announced as a `consent.changed` event).
A consent change sent to a provider leaves through the outbox, like every single write:
retries, dead letters and replay, in order with the contact's other deliveries. An
opt-in that an active sync will carry in its next batch is left to the batch (a bulk
import of new subscribers is then a few batch requests, not one request each), and an
address a sync would filter (invalid, role) is never sent. A lookup at a provider that
cannot be reached leaves the event queued for a later attempt, so no decision is lost.

An opt-in at a list-based provider that no sync names a list for cannot be sent (the
provider keeps opt-ins per list). Each one is audited as ever, but such an integration
would log one line per opted-in customer: the line per contact is debug, and the
integration is reported at info once an hour, with how many opt-ins were held back since.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from .. import metrics
from ..clock import Clock, isoformat, parse_time
from ..config import ConfigError, parse_duration
from ..db import Database
from ..db import consent as rows
from ..db import customers as tables
from ..db import outbox as outbox_rows
from ..db import syncs as sync_rows
from ..db.consent import ConsentEvent
from ..db.outbox import SYSTEM_ROUTE, NewDelivery
from ..integrations import IntegrationManager, Live, UnknownIntegration
from ..log import Logger, Sampler
from ..model import StoreCustomer, Sync
from ..providers.base import ConsentState
from ..providers.errors import ProviderError, Transient
from ..stores.writer import StoreWriter
from .consent import Change, Decision, Known, Settings, decide
from .mapping import exclusion, ineligible
from .outbox import Outbox
from .sync import rules_of

BATCH = 200
RETRY_SECONDS = 30.0  # a deferred event waits this long before its next try
NO_LIST_REPORT_SECONDS = 3600.0  # an integration whose opt-ins have no list: reported this often


def settings_of(live: Live) -> Settings:
    """The integration's consent settings (connect options opt_out_guard, fetch_on_register)."""
    options = live.integration.settings
    try:
        guard = parse_duration(
            options.get("opt_out_guard") or "15m", "integration", "opt_out_guard"
        )
    except ConfigError:
        guard = 15 * 60.0
    fetch = (options.get("fetch_on_register") or "on").lower() not in ("off", "no", "false")
    return Settings(timedelta(seconds=guard), fetch)


class ConsentEngine:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        integrations: IntegrationManager,
        store_writer: StoreWriter,
        outbox: Outbox,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.outbox = outbox
        self.store_writer = store_writer
        self.integrations = integrations
        self.timeout = timeout
        self.wake = asyncio.Event()
        # Whether this daemon fans store-side events out (the inbox lease's holder; always
        # on SQLite): two doing it at once would decide each change twice.
        self.fans_out: Callable[[], bool] = lambda: True
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._wakes: dict[int, asyncio.Event] = {}
        self._no_list = Sampler(clock, per_window=1, window=NO_LIST_REPORT_SECONDS)

    def _now(self) -> str:
        return isoformat(self.clock.now())

    async def run(self) -> None:
        """Fan store-side events out per integration and keep a worker per integration
        deciding its own queue: a provider that is slow or down delays only itself."""
        try:
            while True:
                self.wake.clear()  # before reading: a wake during the pass is not lost
                await self.fan_out()
                for integration_id in await rows.waiting_integrations(self.db):
                    self._wake_worker(integration_id)
                with contextlib.suppress(TimeoutError):  # deferred events come due meanwhile
                    await asyncio.wait_for(self.wake.wait(), RETRY_SECONDS)
        finally:
            for worker in self._workers.values():
                worker.cancel()
            # Whatever a worker was deciding stays queued in the table for the next start.
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def fan_out(self) -> None:
        if not self.fans_out():
            return  # the daemon processing the inbox fans out what it wrote
        by_store: dict[str, list[int]] = {}
        for live in self.integrations.lives():
            by_store.setdefault(live.integration.store, []).append(live.integration.id)
        while await rows.fan_out(self.db, by_store, BATCH, self._now()) == BATCH:
            pass

    async def release(self, integration_id: int) -> None:
        """This daemon no longer holds the integration: its decisions stop here (what was
        being decided stays queued, for the daemon that holds it now)."""
        worker = self._workers.pop(integration_id, None)
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    def _wake_worker(self, integration_id: int) -> None:
        if not self.integrations.mine(integration_id):
            return  # another daemon holds it: its consent engine decides
        self._wakes.setdefault(integration_id, asyncio.Event()).set()
        worker = self._workers.get(integration_id)
        if worker is None or worker.done():
            if worker is not None and not worker.cancelled() and worker.exception():
                self.log.error(
                    "consent worker failed; restarting it",
                    integration=integration_id,
                    error=repr(worker.exception())[:200],
                )
            self._workers[integration_id] = asyncio.create_task(
                self._worker(integration_id), name=f"consent {integration_id}"
            )

    async def _worker(self, integration_id: int) -> None:
        wake = self._wakes.setdefault(integration_id, asyncio.Event())
        while self.integrations.mine(integration_id):
            wake.clear()
            taken, _deferred = await self.process_once(integration_id)
            if taken == BATCH:
                continue  # more are queued behind this batch
            with contextlib.suppress(TimeoutError):  # deferred events come due meanwhile
                await asyncio.wait_for(wake.wait(), RETRY_SECONDS)

    async def process_once(self, integration_id: int) -> tuple[int, int]:
        """Decide the integration's queued events; (taken, deferred: provider unreachable)."""
        finished: list[int] = []
        deferred: list[int] = []
        batch = await rows.pending(self.db, integration_id, BATCH, self._now())
        for event in batch:
            try:
                await self._handle(event)
            except Transient as exc:
                deferred.append(event.id)
                metrics.current().consent_decided(integration_id, "deferred")
                self.log.warning(
                    "consent change deferred: provider unreachable",
                    email=event.email,
                    integration=integration_id,
                    reason=exc.reason,
                )
                continue
            finished.append(event.id)
        # Marked together: after a crash a decided event is decided again, which only
        # records a duplicate (decisions are idempotent), and nothing is skipped.
        await rows.done(self.db, finished, self._now())
        await rows.defer(
            self.db, deferred, isoformat(self.clock.now() + timedelta(seconds=RETRY_SECONDS))
        )
        return len(batch), len(deferred)

    async def _handle(self, event: ConsentEvent) -> None:
        assert event.integration_id is not None  # store-side events are fanned out first
        try:
            live = self.integrations.get(event.integration_id)
        except UnknownIntegration:
            return  # disconnected meanwhile: moot
        with contextlib.suppress(UnknownIntegration):
            await self._decide(event, live)

    async def _known(self, event: ConsentEvent, live: Live) -> tuple[Known, StoreCustomer | None]:
        found = await tables.find(self.db, event.store, email=event.email, limit=1)
        customer = found[0] if found else None
        state, at = await rows.provider_state(self.db, live.integration.id, event.email)
        store_state = customer.email_consent if customer else None
        store_at = parse_time(customer.email_consent_at) if customer else None
        provider_at = parse_time(at)
        if state and provider_at and (store_at is None or provider_at > store_at):
            # A write to the store still on its way through the inbox: we know the newer
            # state already (else a second callback in the same pass compares with old).
            store_state, store_at = state, provider_at
        return Known(
            registered_at=parse_time(customer.created_at) if customer else None,
            store_state=store_state,
            store_at=store_at,
            provider_state=state,
            provider_at=provider_at,
        ), customer

    async def _decide(self, event: ConsentEvent, live: Live, change: Change | None = None) -> None:
        known, customer = await self._known(event, live)
        change = change or Change(
            event.source,  # type: ignore[arg-type]
            event.state,
            parse_time(event.event_at),
        )
        decision = decide(change, known, settings_of(live), self.clock.now())
        refused = ineligible(event.email)
        if decision.action == "send_to_provider" and refused:
            decision = Decision(
                "ignored", "none", "eligibility", refused, decision.old_state, decision.new_state
            )
        reason = decision.reason
        no_list = False
        try:
            follow_up, note, no_list = await self._act(decision, change, event, live, customer)
        except Transient:
            raise
        except ProviderError as exc:
            reason = f"{decision.reason}; failed: {exc.reason}"
            decision = Decision(
                "failed", "none", decision.rule, reason, decision.old_state, decision.new_state
            )
            follow_up, note = None, None
        if note:
            reason = f"{reason}; {note}"
        await rows.audit(
            self.db,
            {
                "decided_at": self._now(),
                "integration_id": live.integration.id,
                "store": event.store,
                "email": event.email,
                "customer_id": customer.id if customer else event.customer_id,
                "source": change.source,
                "rule": decision.rule,
                "outcome": decision.outcome,
                "old_state": decision.old_state,
                "new_state": decision.new_state,
                "reason": reason,
                "event_at": isoformat(change.at) if change.at else None,
            },
        )
        metrics.current().consent_decided(live.integration.id, decision.outcome)
        if no_list:
            self._report_no_list(live)
        log = self.log.warning if decision.outcome in ("suppressed", "failed") else self.log.info
        if no_list:
            log = self.log.debug  # the audit has each one; the integration is reported above
        log(
            "consent decision",
            email=event.email,
            integration=live.integration.id,
            outcome=decision.outcome,
            rule=decision.rule,
            reason=reason,
        )
        if follow_up is not None:
            await self._decide(event, live, follow_up)

    def _report_no_list(self, live: Live) -> None:
        """Once an hour per integration: its opt-ins are held back, and how many were."""
        allowed, suppressed = self._no_list.allow(live.integration.id)
        if allowed:
            self.log.info(
                "opt-ins not sent: the provider keeps them per list and no sync of this"
                " integration names one (each is in the consent audit)",
                integration=live.integration.id,
                provider=live.integration.provider,
                held_back_since_last_report=suppressed + 1,  # this one included
            )

    async def _act(
        self,
        decision: Decision,
        change: Change,
        event: ConsentEvent,
        live: Live,
        customer: StoreCustomer | None,
    ) -> tuple[Change | None, str | None, bool]:
        """Do what the decision says; (a follow-up change to decide, a note for the audit,
        whether it was an opt-in with no list to hold it)."""
        integration_id = live.integration.id
        if decision.action == "send_to_provider" and decision.new_state:
            at = isoformat(change.at) if change.at else None
            syncs = await sync_rows.live(self.db)  # read once for every question below
            carrier = _carrier(live, customer, decision.new_state, syncs)
            destination = _destination(integration_id, syncs)
            if (
                carrier is None
                and decision.new_state == "subscribed"
                and live.provider.has_lists
                and destination is None
            ):
                # Nowhere to subscribe them: a list-based provider keeps opt-ins per list.
                return (
                    None,
                    f"not sent: {live.integration.provider} keeps opt-ins per "
                    "list and no sync of this integration names one",
                    True,
                )
            if carrier is None:
                # The provider's state is recorded when the outbox has delivered it.
                note = await self._enqueue(
                    event, live, decision.new_state, at, destination, customer
                )
                return None, note, False
            await rows.set_provider_state(
                self.db, integration_id, event.email, decision.new_state, at
            )
            return None, f"carried by sync {carrier}'s next batch", False
        if decision.action == "write_to_store" and decision.new_state and customer:
            state: ConsentState = decision.new_state  # type: ignore[assignment]
            await self.store_writer.set_email_consent(
                customer, state, change.at or self.clock.now(), change.source
            )
            await rows.set_provider_state(
                self.db,
                integration_id,
                event.email,
                decision.new_state,
                isoformat(change.at or self.clock.now()),
            )
        elif decision.action == "note_provider" and decision.new_state and change.at:
            await rows.set_provider_state(
                self.db, integration_id, event.email, decision.new_state, isoformat(change.at)
            )
        elif decision.action == "lookup_provider":
            destination = _destination(integration_id, await sync_rows.live(self.db))
            found = await self.integrations.call(
                integration_id,
                "consent looked up",
                lambda p: p.lookup_consent(event.email, destination),
            )
            follow_up = Change(
                "lookup", found.state if found else None, found.at if found else None
            )
            return follow_up, None, False
        return None, None, False

    async def _enqueue(
        self,
        event: ConsentEvent,
        live: Live,
        state: str,
        at: str | None,
        destination: str | None,
        customer: StoreCustomer | None,
    ) -> str:
        integration_id = live.integration.id
        delivery = NewDelivery(
            SYSTEM_ROUTE,
            "consent",
            integration_id,
            event.store,
            f"consent.{state}",
            f"consent:{event.id}",
            0,
            "set_consent",
            event.email,
            f"consent:{event.id}:{integration_id}",
            {
                "email": event.email,
                "state": state,
                "at": at,
                "list": destination,
                "customer_id": customer.id if customer else event.customer_id,
            },
            self.timeout,
            None,
        )
        await outbox_rows.add(self.db, [delivery], self._now())
        self.outbox.wake({integration_id})
        return "sent through the outbox (patchbay deliveries list --route 0)"


def _carrier(
    live: Live, customer: StoreCustomer | None, state: str, syncs: Sequence[Sync]
) -> int | None:
    """An active sync of this integration that will send this opt-in in its next batch
    anyway (the contact is in its segment and passes its filters), or None. Opt-outs
    always go single: a sync never sends an unsubscribed contact."""
    if state != "subscribed" or customer is None or not live.provider.batch_sets_consent:
        return None  # Klaviyo's import, SALESmanago's, Mailchimp's leave consent be
    subscribed = replace(customer, email_consent="subscribed")
    for sync in syncs:
        if (
            sync.integration_id == live.integration.id
            and sync.mode == "active"
            and sync.state in ("running", "active")  # following new data
            and sync.segment in ("all", "subscribers")
            and exclusion(subscribed, rules_of(sync), duplicate=False) is None
        ):
            return sync.id
    return None


def _destination(integration_id: int, syncs: Sequence[Sync]) -> str | None:
    """Where consent lives at list-based providers: the integration's sync list."""
    for sync in syncs:
        if sync.integration_id == integration_id and sync.destination:
            return sync.destination
    return None
