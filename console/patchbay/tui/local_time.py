"""The daemon's times as the operator reads them: it writes UTC ISO-8601, the person at
the console lives in local time (the log's column, an event's detail, consent decisions;
ages are render.ago). A time that does not parse is shown as it came (the console is for
finding out, not for hiding what is odd)."""

from __future__ import annotations

from datetime import tzinfo

from ..render import moment


def clock(ts: str, tz: tzinfo | None = None) -> str:
    """HH:MM:SS in local time (`tz`, or the machine's): the column of a log line."""
    at = moment(ts)
    if at is None:
        return (ts or "?")[:8].ljust(8)
    return at.astimezone(tz).strftime("%H:%M:%S")


def local(ts: str, tz: tzinfo | None = None) -> str:
    """The full local date and time, to the millisecond, and the zone's name."""
    at = moment(ts)
    if at is None:
        return ts or "no time given"
    here = at.astimezone(tz)
    return f"{here:%Y-%m-%d %H:%M:%S}.{here.microsecond // 1000:03d} {here:%Z}".rstrip()
