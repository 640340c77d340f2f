"""What a sync does with one page of customers, decided before anything is sent.

`plan_batch()` is pure: filter (the exclusion reasons), map (customer -> Contact), diff
(the payload hash against what the destination last got) and set aside what cannot go
out. The engine then sends `plan.send` and records the results together with
`plan.settled`; a dry run reads the same plan and sends nothing, so a dry run and a real
run can never disagree about who would go.

`RunCounts` is what a run did so far, as a typed record: it is stored with the run
(JSON), published as progress and returned by the API through `as_dict()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..db.syncs import ScanRow
from ..providers.base import Contact
from .mapping import REASONS, SyncRules, exclusion, payload_hash, to_contact, unsendable

FILTER_REASONS = REASONS[:-1]  # not_in_segment is the segment's SQL, never counted here

# (customer id, payload hash or None, status, reason): a row of the sync's ledger
Settled = tuple[str, str | None, str, str | None]


@dataclass(frozen=True)
class Planned:
    customer_id: str
    contact: Contact
    digest: str


@dataclass(frozen=True)
class Sample:
    customer: str
    email: str | None
    reason: str


@dataclass(frozen=True)
class BatchPlan:
    send: list[Planned]
    settled: list[Settled]  # decided without sending: filtered, or cannot go out as JSON
    scanned: int
    unchanged: int
    filtered: list[Sample]
    unsendable: list[Sample]


def plan_batch(
    batch: Sequence[ScanRow],
    previous: Mapping[str, tuple[str, str]],
    rules: SyncRules,
    destination: str | None,
    *,
    dry: bool,
) -> BatchPlan:
    """`previous`: customer id -> (hash, status) of what the destination last got.

    A filtered customer that had a ledger row leaves the failed list (its hash is kept
    as it was); an unchanged one is skipped; one that cannot go out as JSON fails alone
    in a real run and counts as would-send in a dry one (it shows in the samples)."""
    send: list[Planned] = []
    settled: list[Settled] = []
    filtered: list[Sample] = []
    bad: list[Sample] = []
    unchanged = 0
    for customer, _seq, duplicate in batch:
        reason = exclusion(customer, rules, duplicate=duplicate)
        if reason:
            filtered.append(Sample(customer.id, customer.email, reason))
            if customer.id in previous:
                settled.append((customer.id, None, "filtered", reason))
            continue
        contact = to_contact(customer, rules)
        digest = payload_hash(contact, destination)
        if previous.get(customer.id) == (digest, "sent"):
            unchanged += 1
            continue
        problem = unsendable(contact)
        if problem and not dry:
            bad.append(Sample(customer.id, contact.email, problem))
            settled.append((customer.id, None, "failed", problem))
            continue
        send.append(Planned(customer.id, contact, digest))
    return BatchPlan(send, settled, len(batch), unchanged, filtered, bad)


@dataclass
class RunCounts:
    scanned: int = 0
    sent: int = 0
    failed: int = 0
    unchanged: int = 0
    retried: int = 0
    filtered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILTER_REASONS, 0))
    total: int | None = None  # segment members the run has to scan (set at its start)
    rate: float | None = None  # contacts sent per second so far
    would_send: int | None = None  # dry runs only
    refused: str | None = None  # dry runs only: why a real run would stop at once

    def absorb(self, plan: BatchPlan) -> None:
        self.scanned += plan.scanned
        self.unchanged += plan.unchanged
        self.failed += len(plan.unsendable)
        for sample in plan.filtered:
            self.filtered[sample.reason] = self.filtered.get(sample.reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape runs are stored and shown in (unset optional counts left out)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RunCounts:
        """A stored run's counts (an older daemon's included: unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        counts = cls(**{k: v for k, v in (data or {}).items() if k in known})
        counts.filtered = {**dict.fromkeys(FILTER_REASONS, 0), **counts.filtered}
        return counts
