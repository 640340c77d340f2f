"""How an integration's limit and its use, and the age of a time, read in the CLI and the
console."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from patchbay.render import ago, rate_use

USAGE = {
    "limit": "400/min",
    "sent_last_minute": 100,
    "per_minute": 400,
    "waiting": 0,
    "held_for": 0.0,
    "throttled": 0,
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"usage": USAGE},
            "400/min · 100 sent last minute (25 %) · 0 throttled",
        ),
        (
            {"usage": {**USAGE, "waiting": 3, "held_for": 4.5, "throttled": 2}},
            "400/min · 100 sent last minute (25 %) · 3 waiting"
            " · provider asked to pause: 4.5 s left · 2 throttled",
        ),
        (
            {"usage": {**USAGE, "limit": "none", "per_minute": 0, "sent_last_minute": 7}},
            "none · 7 sent last minute · 0 throttled",
        ),
        # an older daemon, without usage
        ({"rate_limit": "2/s", "throttled": 1}, "2/s (1 throttled)"),
    ],
)
def test_rate_use(data: dict[str, Any], expected: str) -> None:
    assert rate_use(data) == expected


NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-11-26T11:59:55Z", "5s ago"),
        ("2026-11-26T11:57:00.250Z", "2m 59s ago"),
        ("2026-11-26T09:00:00+00:00", "3h 0m ago"),
        ("2026-11-24T11:00:00Z", "2d 1h ago"),
        ("2026-11-26T12:00:00Z", "just now"),
        ("2026-11-26T12:00:30Z", "in 30s"),  # a clock ahead of ours
        ("2026-11-26T11:59:00", "1m 0s ago"),  # no zone: UTC, as the daemon writes
        (None, "-"),
        ("", "-"),
        ("yesterday", "yesterday"),
    ],
)
def test_ago(timestamp: str | None, expected: str) -> None:
    assert ago(timestamp, NOW) == expected
