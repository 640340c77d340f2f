"""Human output for the CLI: short aligned tables and one-line events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h).upper() for h in headers]] + [["" if c is None else str(c) for c in row]
                                                   for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in items)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def status(data: dict[str, Any]) -> str:
    stores = ", ".join(f"{s['name']} ({s['kind']})" for s in data.get("stores", [])) or "none"
    counts = data.get("counts", {}).get("log_events", {})
    return pairs([
        ("patchbayd", f"{data['version']} — {data['state']}, "
                      f"up {duration(data['uptime_seconds'])}"),
        ("pid", data["pid"]),
        ("socket", data["socket"]),
        ("listen", data["listen"]),
        ("state dir", data["state_dir"]),
        ("schema", data["schema_version"]),
        ("stores", stores),
        ("log events", ", ".join(f"{k} {v}" for k, v in counts.items())),
    ])


def event_line(event: dict[str, Any]) -> str:
    fields = "".join(f" {k}={v}" for k, v in event.get("fields", {}).items())
    return (f"{event['ts']} {event['level'].upper():7} {event['component']}: "
            f"{event['message']}{fields}")
