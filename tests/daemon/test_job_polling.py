"""Submit-then-poll jobs (Omnisend batches, Klaviyo bulk imports, Benchmark CSV imports)
wait for the job with a growing pause and give up only at a deadline.

Before `poll_job()` the clients asked again at once, sixty times, so a job that takes a
few seconds at the real provider was given up on and the whole batch sent again. The
sandbox's `job_latency_ms` fault keeps jobs processing; the pauses are recorded against
the fake clock, so nothing here really waits.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from patchbayd.providers import jobs
from patchbayd.providers.base import Consent, Contact
from patchbayd.providers.errors import Transient
from tests.daemon.test_providers import Rig, destination

pytestmark = pytest.mark.anyio
AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
JOBS = {
    "omnisend": "POST /v3/batches",
    "klaviyo": "POST /api/profile-bulk-import-jobs",
    "benchmark": "POST /Contact/{list_id}/ContactDetails/CSV",
}


@pytest.mark.parametrize(
    ("first", "cap", "expected"),
    [
        (0.25, 5.0, [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]),
        (1.0, 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        (0.1, 0.3, [0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3]),
    ],
    ids=["default", "flat", "small-cap"],
)
def test_pauses_grow_to_the_cap(first: float, cap: float, expected: list[float]) -> None:
    assert list(itertools.islice(jobs.waits(first, cap), 7)) == pytest.approx(expected)


@pytest.fixture
async def rig(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    r = Rig()
    r.pauses: list[float] = []  # type: ignore[misc]

    async def sleep(seconds: float) -> None:
        r.pauses.append(seconds)  # type: ignore[attr-defined]
        r.clock.advance(seconds)

    monkeypatch.setattr(jobs, "sleep", sleep)
    yield r
    await r.control.aclose()


def contacts(count: int) -> list[Contact]:
    return [
        Contact(
            email=f"slow{i}@example.com", first_name="Slow", email_consent=Consent("subscribed", AT)
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("name", list(JOBS))
async def test_a_slow_job_is_waited_for_not_resubmitted(rig: Rig, name: str) -> None:
    client = rig.client(name)
    target = await destination(client)
    await rig.faults(name, job_latency_ms=7000)
    results = await client.upsert_contacts(target, contacts(3))
    assert [r.ok for r in results] == [True, True, True]
    pauses: list[float] = rig.pauses  # type: ignore[attr-defined]
    assert sum(pauses) >= 7.0  # it waited the job out ...
    assert pauses == sorted(pauses) and max(pauses) <= jobs.MAX_WAIT  # ... backing off
    assert len(pauses) < 10  # ... without asking every instant
    requests = (await rig.state(name))["requests"]
    assert requests[JOBS[name]] == 1  # one submission: the batch was not sent again
    await client.aclose()


@pytest.mark.parametrize("name", list(JOBS))
async def test_a_job_that_never_finishes_is_given_up_at_the_deadline(rig: Rig, name: str) -> None:
    client = rig.client(name)
    target = await destination(client)
    await rig.faults(name, job_latency_ms=10 * jobs.DEADLINE * 1000)
    with pytest.raises(Transient, match=f"did not finish within {jobs.DEADLINE:g} s"):
        await client.upsert_contacts(target, contacts(2))
    pauses: list[float] = rig.pauses  # type: ignore[attr-defined]
    assert sum(pauses) == pytest.approx(jobs.DEADLINE)
    await client.aclose()
