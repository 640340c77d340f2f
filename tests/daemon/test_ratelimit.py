"""Rate-limit arithmetic, by tables: no sleeping, time is an argument."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from patchbayd.clock import FakeClock
from patchbayd.providers.ratelimit import Bucket, Limit, RateLimiter, hold_seconds, parse_limit

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("400/min", Limit(400, 60.0)),
        ("2/s", Limit(2, 1.0)),
        ("3600/h", Limit(3600, 3600.0)),
        ("10/5s", Limit(10, 5.0)),
        (" 750 / minute ", Limit(750, 60.0)),
        ("none", None),
    ],
)
def test_parse_limit(text: str, expected: Limit | None) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["", "400", "0/min", "400/fortnight", "-1/s", "fast"])
def test_parse_limit_refuses_nonsense_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="400/min"):
        parse_limit(text)


def test_bucket_spends_its_burst_then_paces_at_the_rate() -> None:
    bucket = Bucket.full(Limit(60, 60.0, burst=3), now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_bucket_refills_but_never_above_its_size() -> None:
    bucket = Bucket.full(Limit(60, 60.0, burst=2), now=0.0)
    bucket.reserve(0.0)
    bucket.reserve(0.0)
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == 1.0


def test_a_hold_delays_everything_and_forfeits_saved_tokens() -> None:
    bucket = Bucket.full(Limit(60, 60.0, burst=10), now=0.0)
    bucket.hold(5.0)
    assert bucket.reserve(0.0) == 5.0  # the one token left after the hold
    assert bucket.reserve(0.0) == 6.0  # then paced, not a burst of ten at t=5


def test_sustained_pace_matches_the_limit_over_a_minute() -> None:
    limit = Limit(400, 60.0)
    bucket = Bucket.full(limit, now=0.0)
    sent, now = 0, 0.0
    while True:
        now += bucket.reserve(now)
        if now >= 60.0:
            break
        sent += 1
    assert limit.bucket + 390 <= sent <= limit.bucket + 400


H = httpx.Headers


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, H({}), None),
        (429, H({"Retry-After": "7"}), 7.0),
        (429, H({"Retry-After": "Sun, 22 Nov 2026 10:00:30 GMT"}), 30.0),
        (429, H({"X-Rate-Limit-Reset": "12"}), 12.0),  # Omnisend: seconds to the reset
        (429, H({}), 1.0),  # no hint at all: back off, 1 s first
        (429, H({"Retry-After": "0"}), 0.5),  # never hammer straight back
        (429, H({"Retry-After": "999999"}), 3600.0),  # nor believe a silly hint
        (200, H({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "9"}), 9.0),
        (200, H({"X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "9"}), None),
        (200, H({"RateLimit-Remaining": "0", "RateLimit-Reset": "4"}), 4.0),  # Klaviyo
        (200, H({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}), 2.0),  # Benchmark
        (200, H({"X-Shopify-Shop-Api-Call-Limit": "39/40"}), 1.0),
        (200, H({"X-Shopify-Shop-Api-Call-Limit": "12/40"}), None),
        (200, H({"X-Rate-Limit-Remaining": "zero"}), None),  # garbage is ignored
    ],
)
def test_hold_seconds(status: int, headers: httpx.Headers, expected: float | None) -> None:
    assert hold_seconds(status, headers, NOW) == expected


@pytest.mark.anyio
async def test_limiter_counts_429s_and_holds() -> None:
    clock = FakeClock(NOW)
    limiter = RateLimiter(Limit(100, 60.0), clock)
    assert limiter.observe(429, H({"Retry-After": "3"})) == 3.0
    assert limiter.throttled == 1
    assert limiter.observe(200, H({})) is None
    assert [limiter.observe(429, H({})) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert limiter.throttled == 9
    assert limiter.observe(200, H({})) is None
    assert limiter.observe(429, H({})) == 1  # a success resets the back-off


@pytest.mark.anyio
async def test_usage_counts_the_last_minute_and_what_waits() -> None:
    clock = FakeClock(NOW)
    limiter = RateLimiter(Limit(100, 60.0, burst=100), clock)
    for _ in range(7):
        async with limiter.slot():
            pass
    clock.advance(30)
    for _ in range(3):
        async with limiter.slot():
            pass
    limiter.observe(429, H({"Retry-After": "5"}))
    assert limiter.usage() == {
        "limit": "100/min",
        "sent_last_minute": 10,
        "per_minute": 100,
        "waiting": 0,
        "held_for": 5.0,
        "throttled": 1,
    }
    clock.advance(31)  # the first seven are more than a minute old
    assert limiter.usage()["sent_last_minute"] == 3
    clock.advance(60)
    assert limiter.usage()["sent_last_minute"] == 0
    assert RateLimiter(None, clock).usage()["limit"] == "none"
