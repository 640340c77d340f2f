"""The one source of "now".

Every time-dependent rule (the opt-out guard, backoff, rate limits) asks a Clock, so
tests can move time forward instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals only)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def isoformat(moment: datetime) -> str:
    """RFC 3339 in UTC with a trailing Z, the form every API here speaks."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 time from an API (trailing Z allowed) as aware UTC; None if absent/bad."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC now, while a time at the edge of the calendar can still be refused:
        # 0001-01-01T00:00:00+01:00 has no UTC form and would raise later, anywhere.
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def normalize_time(value: object) -> str | None:
    """Any ISO-8601 time as our one form (UTC, Z), so stored times compare as text."""
    parsed = parse_time(value)
    return isoformat(parsed) if parsed else None
