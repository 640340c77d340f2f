"""The outbox's workers: one per integration, so a slow or dead provider never delays
another. Each takes due deliveries oldest first, at most one in flight per contact (a
later delivery for a contact waits while an earlier one is retrying), sends them through
the integration's client and limiter with the route's attempt timeout, and records the
outcome: delivered; retrying after an exponential, fully jittered delay (Retry-After
wins); or dead, at once for a permanent refusal and after the last retry otherwise.
A delivery cut off by a crash is still open in the table, so it is sent again on start,
with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..clock import Clock, isoformat, parse_time
from ..db import Database
from ..db import consent as consent_rows
from ..db import orders as order_rows
from ..db import outbox as rows
from ..db.database import Conn
from ..db.outbox import Delivery, Head, Outcome
from ..integrations import IntegrationManager, UnknownIntegration
from ..log import Logger
from ..metrics import Metrics
from ..providers.base import (
    CONSENT_STATES,
    Consent,
    ConsentState,
    Contact,
    OrderPayload,
    Provider,
    TrackedEvent,
)
from ..providers.errors import ProviderError, RateLimited, Rejected, Transient
from ..providers.http import EXCHANGE_TIMEOUT
from .routes import MAX_RETRIES, retry_delay

WINDOW = 2000  # contacts looked at per pass, per integration (their oldest open delivery)
TAKE = 64  # deliveries taken per pass (distinct contacts), their outcomes one commit
IN_FLIGHT = 8  # deliveries sent at once per integration
GUARD_SECONDS = 600.0  # an attempt's outer bound: its exchanges plus rate-limit waits


@dataclass(frozen=True)
class Backoff:
    base: float = 2.0  # seconds before the first retry, at most (full jitter)
    cap: float = 300.0  # no retry waits longer than this (unless Retry-After says so)


def pick_due(window: Sequence[Head], now: str, limit: int) -> tuple[list[int], str | None]:
    """The deliveries to send now (ids), and when the next one falls due. Only the oldest
    open delivery of each contact is eligible: order per contact is kept, and a contact
    whose delivery is retrying holds back its own later ones, nobody else's."""
    seen: set[str] = set()
    due: list[int] = []
    next_due: str | None = None
    for head in window:
        if head.contact in seen:
            continue
        seen.add(head.contact)
        if head.next_attempt_at <= now:
            if len(due) < limit:
                due.append(head.id)
        elif next_due is None or head.next_attempt_at < next_due:
            next_due = head.next_attempt_at
    return due, next_due


async def send(provider: Provider, delivery: Delivery) -> None:
    """One delivery through the provider, in the shape its action asks for."""
    payload: dict[str, Any] = delivery.payload
    who = {k: payload.get(k) for k in ("email", "phone", "external_id")}
    if delivery.kind == "track_event":
        occurred = parse_time(payload.get("occurred_at"))
        if occurred is None:
            raise Rejected("the event has no usable time")
        await provider.track_event(
            TrackedEvent(
                name=str(payload["name"]),
                event_id=delivery.key,
                occurred_at=occurred,
                email=who["email"],
                phone=who["phone"],
                external_id=who["external_id"],
                properties=payload.get("properties") or {},
                destination=payload.get("list"),
            )
        )
    elif delivery.kind in ("upsert_contact", "add_to_list"):
        [result] = await provider.upsert_contacts(
            payload.get("list"),
            [
                Contact(
                    email=who["email"],
                    phone=who["phone"],
                    external_id=who["external_id"],
                    properties=payload.get("properties") or {},
                )
            ],
        )
        if not result.ok:
            raise Rejected(result.reason or "the provider refused the contact")
    elif delivery.kind == "set_consent":
        state = payload.get("state")
        if state not in CONSENT_STATES or not who["email"]:
            raise Rejected("a consent change needs an email and a consent state")
        value: ConsentState = state
        await provider.set_consent(
            payload.get("list"), str(who["email"]), Consent(value, parse_time(payload.get("at")))
        )
    elif delivery.kind == "export_order":
        await provider.export_order(
            OrderPayload(
                id=str(payload["id"]),
                email=payload.get("email"),
                status=str(payload["status"]),
                total=payload.get("total"),
                currency=payload.get("currency"),
                created_at=parse_time(payload.get("created_at"))
                or datetime(1970, 1, 1, tzinfo=UTC),
                items=tuple(payload.get("items") or ()),
            )
        )
    elif delivery.kind == "webhook":
        await provider.post(payload.get("body") or {}, url=payload.get("url"), key=delivery.key)
    else:
        raise Rejected(f"unknown action {delivery.kind!r}")


class NotReplayable(Exception):
    """A delivery that cannot be sent again (still in flight, or refused at planning)."""


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        integrations: IntegrationManager,
        metrics: Metrics,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db, self.clock, self.log = db, clock, log
        self.integrations, self.metrics = integrations, metrics
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrecy)
        self._wakes: dict[int, asyncio.Event] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        # Word for the daemons holding integrations that have new work here.
        self.tell: Callable[[set[int]], None] = lambda _integration_ids: None

    def wake(self, integration_ids: set[int]) -> None:
        """New or replayed deliveries for these integrations: their workers look now."""
        theirs = {i for i in integration_ids if not self.integrations.mine(i)}
        if theirs:
            self.tell(theirs)  # other daemons hold them: their outboxes send these
        for integration_id in integration_ids - theirs:
            self._wakes.setdefault(integration_id, asyncio.Event()).set()
            worker = self._workers.get(integration_id)
            if worker is None or worker.done():
                self._workers[integration_id] = asyncio.create_task(
                    self._worker(integration_id), name=f"outbox {integration_id}"
                )

    async def replay(self, delivery: Delivery) -> None:
        """Send a dead (or delivered) delivery again, from its first attempt."""
        if delivery.status not in ("dead", "delivered"):
            raise NotReplayable(
                f"delivery {delivery.id} is {delivery.status}: it is still being sent"
            )
        if delivery.attempts == 0:
            raise NotReplayable(
                f"delivery {delivery.id} was refused when it was planned "
                f"({delivery.last_error}); it is never sent"
            )
        await rows.replay(self.db, [delivery.id], isoformat(self.clock.now()))
        self.wake({delivery.integration_id})

    async def replay_dead(self, route_id: int | None) -> int:
        """Every dead delivery (of one route, or all) sent again; how many."""
        count = await rows.replay_dead(self.db, route_id, isoformat(self.clock.now()))
        self.wake(set(await rows.open_integrations(self.db)))
        return count

    async def run(self) -> None:
        """Start a worker for every integration with open deliveries (after a restart,
        the ones a crash cut off), then keep them alive."""
        self.wake(set(await rows.open_integrations(self.db)))
        try:
            while True:
                await asyncio.sleep(5)
                for integration_id, worker in list(self._workers.items()):
                    if worker.done() and not worker.cancelled() and worker.exception():
                        self.log.error(
                            "outbox worker failed; restarting it",
                            integration=integration_id,
                            error=repr(worker.exception())[:200],
                        )
                        self.wake({integration_id})
        finally:
            for worker in self._workers.values():
                worker.cancel()
            # Stopping: whatever a worker was doing, its deliveries are still open in the
            # table and go on at the next start, so how each task ended changes nothing.
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def release(self, integration_id: int) -> None:
        """This daemon no longer holds the integration: its sending stops here. What the
        worker was doing stays open in the table, for the daemon that holds it now."""
        worker = self._workers.pop(integration_id, None)
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    async def _worker(self, integration_id: int) -> None:
        wake = self._wakes.setdefault(integration_id, asyncio.Event())
        gate = asyncio.Semaphore(IN_FLIGHT)
        failing = 0  # passes in a row in which every attempt failed for a passing reason
        while self.integrations.mine(integration_id):
            wake.clear()
            heads = await rows.open_heads(self.db, integration_id, WINDOW)
            if not heads:
                await wake.wait()
                continue
            due, next_due = pick_due(heads, isoformat(self.clock.now()), TAKE)
            if due:
                batch = await rows.load(self.db, due)
                if not self.integrations.mine(integration_id):
                    return  # the lease went while we read: nothing attempted, nothing noted

                async def attempt(delivery: Delivery) -> Outcome:
                    async with gate:
                        return await self._attempt(delivery)

                outcomes = await asyncio.gather(*(attempt(d) for d in batch))
                await rows.record(
                    self.db,
                    outcomes,
                    isoformat(self.clock.now()),
                    effects=self._effects(batch, outcomes),
                )
                self._report(batch, outcomes)
                if len(outcomes) > 1 and all(o.status == "retrying" for o in outcomes):
                    # Several contacts, all failing: the provider is (down, timing out),
                    # not one contact. Probe again after a backoff instead of asking with
                    # every delivery; a replay or new work wakes the worker sooner.
                    failing += 1
                    wake.clear()  # work that came meanwhile waits too: the provider fails
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            wake.wait(),
                            retry_delay(
                                failing, self.backoff.base, self.backoff.cap, None, self.rng
                            ),
                        )
                else:
                    failing = 0
                continue
            pause = 60.0
            if next_due:
                at = parse_time(next_due)
                if at is not None:
                    pause = max(0.01, (at - self.clock.now()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(pause, 60.0))

    async def _attempt(self, delivery: Delivery) -> Outcome:
        attempts = delivery.attempts + 1
        started = self.clock.monotonic()
        error: str | None = None
        retry_after: float | None = None
        permanent = in_doubt = False
        if delivery.kind == "export_order":
            doubt = await self._order_doubt(delivery)
            if doubt is not None:
                return Outcome(
                    delivery.id,
                    "dead",
                    attempts,
                    isoformat(self.clock.now()),
                    doubt,
                    None,
                    in_doubt=True,
                )
        bound = EXCHANGE_TIMEOUT.set(delivery.timeout)  # each exchange, not the 429 waits
        try:
            async with asyncio.timeout(delivery.timeout + GUARD_SECONDS):
                await self.integrations.call(
                    delivery.integration_id,
                    f"delivery {delivery.id} ({delivery.route_name})",
                    lambda provider: send(provider, delivery),
                )
        except TimeoutError:
            error = f"no answer within {delivery.timeout + GUARD_SECONDS:g} s in all"
        except UnknownIntegration:
            error, permanent = "the integration was disconnected", True
        except RateLimited as exc:
            error, retry_after = exc.reason, exc.retry_after
        except Transient as exc:
            error = exc.reason
            if (
                exc.maybe_delivered
                and delivery.kind == "export_order"
                and not self._dedupes(delivery)
            ):
                # It may have arrived: sending it again could make a second purchase.
                error, permanent, in_doubt = (
                    (
                        f"{exc.reason}; it may have arrived: check the "
                        "destination before replaying it"
                    ),
                    True,
                    True,
                )
        except ProviderError as exc:  # Rejected, AuthFailed, CapacityExceeded: for good
            error, permanent = exc.reason, True
        except Exception as exc:  # a bug must not lose the delivery: retried, then dead
            error = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        finally:
            EXCHANGE_TIMEOUT.reset(bound)
        elapsed = self.clock.monotonic() - started
        self.metrics.attempt_seconds.observe(elapsed)
        now = self.clock.now()
        if error is None:
            status, next_at = "delivered", now
        elif permanent or attempts > MAX_RETRIES:
            status, next_at = "dead", now
        else:
            status = "retrying"
            delay = retry_delay(
                attempts, self.backoff.base, self.backoff.cap, retry_after, self.rng
            )
            next_at = now + timedelta(seconds=delay)
        return Outcome(
            delivery.id,
            status,
            attempts,
            isoformat(next_at),
            error,
            round(elapsed * 1000, 1),
            in_doubt,
        )

    def _dedupes(self, delivery: Delivery) -> bool:
        try:
            return self.integrations.get(delivery.integration_id).provider.orders_idempotent
        except UnknownIntegration:
            return True  # nothing will be sent anyway

    async def _order_doubt(self, delivery: Delivery) -> str | None:
        """Before an order goes: the ledger says `sending` when an earlier attempt was cut
        off by a crash. Where the provider does not dedupe by order id, it is in doubt
        (held for a human); otherwise it is marked sending (committed) and sent."""
        order_id = str(delivery.payload["id"])
        found = await order_rows.states(self.db, delivery.integration_id, [order_id])
        if found.get(order_id) == "sending" and not self._dedupes(delivery):
            return "the daemon stopped while sending it; check the destination before replaying it"
        await order_rows.mark(
            self.db, delivery.integration_id, order_id, "sending", None, isoformat(self.clock.now())
        )
        return None

    def _effects(
        self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]
    ) -> Callable[[Conn], Awaitable[None]]:
        """What an outcome means beyond the outbox, in the same commit: an order's ledger
        row (sent, failed, in doubt); for a consent change delivered, the provider's state
        as we know it, and dead, an entry in the contact's consent history (the audit
        trail must never claim it arrived)."""

        async def apply(conn: Conn) -> None:
            for delivery, outcome in zip(batch, outcomes, strict=True):
                if delivery.kind == "export_order":
                    state = (
                        "sent"
                        if outcome.status == "delivered"
                        else "in_doubt"
                        if outcome.in_doubt
                        else "failed"
                    )
                    await order_rows.mark_in(
                        conn,
                        delivery.integration_id,
                        str(delivery.payload["id"]),
                        state,
                        outcome.error,
                        isoformat(self.clock.now()),
                    )
                    continue
                if delivery.kind != "set_consent":
                    continue
                payload = delivery.payload
                if outcome.status == "delivered":
                    await consent_rows.provider_state_in(
                        conn,
                        delivery.integration_id,
                        str(payload.get("email")),
                        str(payload.get("state")),
                        payload.get("at"),
                    )
                elif outcome.status == "dead":
                    await consent_rows.audit_in(
                        conn,
                        {
                            "decided_at": isoformat(self.clock.now()),
                            "integration_id": delivery.integration_id,
                            "store": delivery.store,
                            "email": payload.get("email"),
                            "customer_id": payload.get("customer_id"),
                            "source": "outbox",
                            "rule": "delivery",
                            "outcome": "failed",
                            "old_state": None,
                            "new_state": payload.get("state"),
                            "reason": f"delivery {delivery.id} dead after {outcome.attempts} "
                            f"attempts: {outcome.error}; replay with `patchbay "
                            f"deliveries replay {delivery.id}`",
                            "event_at": payload.get("at"),
                        },
                    )

        return apply

    def _report(self, batch: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
        for delivery, outcome in zip(batch, outcomes, strict=True):
            self.metrics.deliveries.labels(
                delivery.route_name, str(delivery.integration_id), outcome.status
            ).inc()
            if outcome.status == "dead":
                self.log.error(
                    "delivery dead",
                    delivery=delivery.id,
                    route=delivery.route_name,
                    integration=delivery.integration_id,
                    attempts=outcome.attempts,
                    reason=outcome.error,
                )
            elif outcome.status == "retrying":
                self.log.warning(
                    "delivery failed; will retry",
                    delivery=delivery.id,
                    integration=delivery.integration_id,
                    attempt=outcome.attempts,
                    next_attempt_at=outcome.next_attempt_at,
                    reason=outcome.error,
                )
