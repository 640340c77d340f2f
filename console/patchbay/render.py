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
    stores = ", ".join(
        f"{s['name']} ({s['kind']}, {s.get('state', '?')}"
        + (f": {s['reason']}" if s.get("reason") else "") + ")"
        for s in data.get("stores", [])) or "none"
    counts = data.get("counts", {})
    events = counts.get("log_events", {})
    return pairs([
        ("patchbayd", f"{data['version']} — {data['state']}, "
                      f"up {duration(data['uptime_seconds'])}"),
        ("pid", data["pid"]),
        ("socket", data["socket"]),
        ("listen", data["listen"]),
        ("state dir", data["state_dir"]),
        ("schema", data["schema_version"]),
        ("public url", data.get("public_url")),
        ("stores", stores),
        ("integrations", counts.get("integrations", 0)),
        ("customers", counts.get("customers", 0)),
        ("log events", ", ".join(f"{k} {v}" for k, v in events.items())),
    ])


def event_line(event: dict[str, Any]) -> str:
    fields = "".join(f" {k}={v}" for k, v in event.get("fields", {}).items())
    return (f"{event['ts']} {event['level'].upper():7} {event['component']}: "
            f"{event['message']}{fields}")


def integration_cards(data: dict[str, Any]) -> str:
    rows = []
    for card in data["cards"]:
        if card["card"] == "available":
            rows.append(["-", card["provider"], "", "available", "", ""])
        else:
            rows.append([card["id"], card["provider"], card["store"],
                         card["state"] + (f" ({card['reason']})" if card.get("reason") else ""),
                         card.get("account") or "",
                         f"{card.get('last_activity') or ''} {card.get('last_activity_at') or ''}"
                         .strip()])
    return table(["id", "provider", "store", "state", "account", "last activity"], rows)


def integration(data: dict[str, Any]) -> str:
    items: list[tuple[str, Any]] = [
        ("integration", data["id"]), ("provider", data["provider"]), ("store", data["store"]),
        ("state", data["state"] + (f" — {data['reason']}" if data.get("reason") else "")),
        ("account", data.get("account")), ("key", data.get("fingerprint")),
        ("rate limit", f"{data.get('rate_limit')} ({data.get('throttled', 0)} throttled)"),
        ("connected", data["created_at"]),
        ("last activity", f"{data.get('last_activity') or '-'} at "
                          f"{data.get('last_activity_at') or '-'}"),
    ]
    items += [(k.replace("_", " "), v) for k, v in data.get("settings", {}).items()]
    text = pairs(items)
    audit = data.get("audit") or []
    if audit:
        text += "\n\naudit:\n" + "\n".join(
            f"  {a['ts']} {a['action']} " + " ".join(f"{k}={v}" for k, v in a["detail"].items())
            for a in audit)
    return text
