"""Human output for the CLI: short aligned tables and one-line events."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def shown(value: Any) -> str:
    """A value from outside as a terminal may show it: control characters escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if value is None else str(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h).upper() for h in headers]] + [[shown(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


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
    stores = (
        ", ".join(
            f"{s['name']} ({s['kind']}, {s.get('state', '?')}"
            + (f": {s['reason']}" if s.get("reason") else "")
            + ")"
            for s in data.get("stores", [])
        )
        or "none"
    )
    counts = data.get("counts", {})
    events = counts.get("log_events", {})
    return pairs(
        [
            (
                "patchbayd",
                f"{data['version']} — {data['state']}, up {duration(data['uptime_seconds'])}",
            ),
            (
                "health",
                "ready"
                if not data.get("degraded")
                else "DEGRADED: " + "; ".join(str(r) for r in data["degraded"]),
            ),
            ("pid", data["pid"]),
            ("socket", data["socket"]),
            ("listen", data["listen"]),
            ("state dir", data["state_dir"]),
            ("schema", data["schema_version"]),
            ("public url", data.get("public_url")),
            ("stores", stores),
            ("integrations", counts.get("integrations", 0)),
            ("customers", counts.get("customers", 0)),
            (
                "inbox",
                f"{counts.get('inbox_pending', 0)} pending"
                + (
                    f" (oldest from {counts['inbox_oldest_pending_at']})"
                    if counts.get("inbox_oldest_pending_at")
                    else ""
                )
                + ", "
                f"{counts.get('inbox_quarantined', 0)} quarantined"
                + (
                    " (see `patchbay inbox quarantined`)" if counts.get("inbox_quarantined") else ""
                ),
            ),
            (
                "outbox",
                f"{counts.get('outbox_open', 0)} deliveries open"
                + (
                    f" (oldest from {counts['outbox_oldest_at']})"
                    if counts.get("outbox_oldest_at")
                    else ""
                ),
            ),
            ("log events", ", ".join(f"{k} {v}" for k, v in events.items())),
        ]
    )


def field_value(value: Any) -> str | None:
    """An event field as a person reads it, or None to leave it out: no Python reprs
    (a count table shows its non-zero entries), empty values hidden, text with spaces
    quoted."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        shown = [f"{k}:{field_value(v)}" for k, v in value.items() if v not in (0, None, "")]
        return ",".join(shown) or None
    if isinstance(value, list):
        return ",".join(str(field_value(v)) for v in value)
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if " " in text or not text else text


def event_fields(fields: dict[str, Any]) -> str:
    """`k=v k=v` of the fields worth showing (see field_value)."""
    shown = ((k, field_value(v)) for k, v in fields.items())
    return " ".join(f"{k}={v}" for k, v in shown if v is not None)


def event_line(event: dict[str, Any]) -> str:
    fields = event_fields(event.get("fields", {}))
    fields = f" {fields}" if fields else ""
    return (
        f"{event['ts']} {event['level'].upper():7} {event['component']}: {event['message']}{fields}"
    )


def integration_cards(data: dict[str, Any]) -> str:
    rows = []
    for card in data["cards"]:
        if card["card"] == "available":
            rows.append(["-", card["provider"], "", "available", "", ""])
        else:
            rows.append(
                [
                    card["id"],
                    card["provider"],
                    card["store"],
                    card["state"] + (f" ({card['reason']})" if card.get("reason") else ""),
                    card.get("account") or "",
                    " ".join(
                        filter(None, (card.get("last_activity"), card.get("last_activity_at")))
                    ),
                ]
            )
    return table(["id", "provider", "store", "state", "account", "last activity"], rows)


def integration(data: dict[str, Any]) -> str:
    items: list[tuple[str, Any]] = [
        ("integration", data["id"]),
        ("provider", data["provider"]),
        ("store", data["store"]),
        ("state", data["state"] + (f" — {data['reason']}" if data.get("reason") else "")),
        ("account", data.get("account")),
        ("key", data.get("fingerprint")),
        ("rate limit", f"{data.get('rate_limit')} ({data.get('throttled', 0)} throttled)"),
        ("connected", data["created_at"]),
        (
            "last activity",
            f"{data.get('last_activity') or '-'} at {data.get('last_activity_at') or '-'}",
        ),
    ]
    items += [(k.replace("_", " "), v) for k, v in data.get("settings", {}).items()]
    callbacks = data.get("callbacks") or {}
    items += [
        ("opt-in callback", callbacks.get("opt_in")),
        ("opt-out callback", callbacks.get("opt_out")),
    ]
    text = pairs(items)
    audit = data.get("audit") or []
    if audit:
        text += "\n\naudit:\n" + "\n".join(
            f"  {a['ts']} {a['action']} " + " ".join(f"{k}={v}" for k, v in a["detail"].items())
            for a in audit
        )
    return text


def _filtered(counts: dict[str, Any]) -> str:
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in counts.get("filtered", {}).items() if v]
    return ", ".join(parts) or "none"


def counts_line(counts: dict[str, Any]) -> str:
    return (
        f"scanned {counts.get('scanned', 0)}, sent {counts.get('sent', 0)}, "
        f"failed {counts.get('failed', 0)}, unchanged {counts.get('unchanged', 0)}, "
        f"filtered: {_filtered(counts)}"
    )


def progress_bar(fields: dict[str, Any], width: int = 30) -> str:
    total, scanned = fields.get("total") or 0, fields.get("scanned") or 0
    share = 1.0 if fields.get("done") else min(1.0, scanned / total if total else 0.0)
    filled = int(share * width)
    bar = "#" * filled + "." * (width - filled)
    return (
        f"[{bar}] {share:4.0%}  sent {fields.get('sent', 0)}  failed "
        f"{fields.get('failed', 0)}  filtered {sum(fields.get('filtered', {}).values())}"
        f"  {fields.get('rate', 0)}/s" + ("  done" if fields.get("done") else "")
    )


def progress_snapshot(data: dict[str, Any]) -> str:
    run = data.get("run")
    if not run:
        return f"sync {data['sync']}: {data['state']}, no run yet"
    return (
        f"sync {data['sync']}: {data['state']}{' (running)' if data.get('running') else ''}"
        f"\nrun {run['id']} {run['state']}: {counts_line(run['counts'])}"
    )


def syncs(data: dict[str, Any]) -> str:
    rows = []
    for s in data["syncs"]:
        last = s.get("last_run") or {}
        rows.append(
            [
                s["id"],
                s["integration"],
                s["segment"],
                s.get("list") or "",
                s["mode"],
                s["state"] + (f" ({s['reason']})" if s.get("reason") else ""),
                f"{last.get('state', '')} {last.get('finished_at') or ''}".strip(),
            ]
        )
    return table(["id", "integration", "segment", "list", "mode", "state", "last run"], rows)


def sync(data: dict[str, Any]) -> str:
    rules = data.get("rules", {})
    text = pairs(
        [
            ("sync", data["id"]),
            ("integration", data["integration"]),
            ("segment", data["segment"]),
            ("list", data.get("list") or "-"),
            ("mode", data["mode"]),
            ("state", data["state"] + (f" — {data['reason']}" if data.get("reason") else "")),
            ("at destination", data.get("sent", 0)),
            (
                "mapping",
                ", ".join(f"{k}={v}" for k, v in rules.get("mapping", {}).items()) or "default",
            ),
            ("tags", ",".join(rules.get("tags", [])) or "-"),
            ("opted out too", "yes" if rules.get("export_opted_out") else "no"),
        ]
    )
    runs = data.get("runs") or []
    if runs:
        text += "\n\nruns:\n" + "\n".join(
            f"  #{r['id']} {r['state']:8} {r['started_at']} {counts_line(r['counts'])}"
            + (f"\n    error: {r['error']}" if r.get("error") else "")
            for r in runs
        )
    failures = data.get("failures") or []
    if failures:
        text += "\n\nrecent failures (retried on every run):\n" + "\n".join(
            f"  {f['email'] or f['customer']}: {f['reason']} (attempts {f['attempts']})"
            for f in failures
        )
    return text


def dry_run(data: dict[str, Any]) -> str:
    report = data["report"]
    counts = report["counts"]
    lines = [
        "dry run — nothing sent, nothing stored",
        f"would send {counts.get('would_send', 0)} of {counts.get('scanned', 0)} scanned; "
        f"unchanged {counts.get('unchanged', 0)}; filtered: {_filtered(counts)}",
    ]
    if report.get("capacity"):
        cap = report["capacity"]
        lines.append(f"capacity: needs {cap['needed']}, has {cap['free']} free of {cap['limit']}")
    if counts.get("refused"):
        lines.append(f"would be refused: {counts['refused']}")
    for sample in report.get("would_send", []):
        lines.append(f"  send   {sample['email']}")
    for sample in report.get("filtered", []):
        lines.append(f"  filter {sample['email']}: {sample['reason']}")
    return "\n".join(lines)


def order_export(data: dict[str, Any]) -> str:
    ledger = data.get("ledger", {})
    lines = [
        f"orders: sent {data['sent']} now ({data['resent']} re-sent after an interruption),"
        f" failed {data['failed']}, in doubt {data['in_doubt']}",
        "ledger: " + (", ".join(f"{k} {v}" for k, v in sorted(ledger.items())) or "empty"),
        f"mode: {data['mode']}"
        + (" (new paid orders follow by themselves)" if data["mode"] == "active" else ""),
    ]
    if data.get("stopped"):
        lines.append(f"stopped: {data['stopped']}")
    for problem in data.get("problems", []):
        lines.append(
            f"  order {problem['order']}: {problem.get('state', 'failed')} — {problem['reason']}"
        )
    return "\n".join(lines)


def consent(data: dict[str, Any]) -> str:
    lines = [f"{data['email']}"]
    for s in data["stores"]:
        lines.append(
            f"  store {s['store']} (customer {s['customer']}): {s['state'] or '-'}"
            f" since {s['at'] or '?'}; registered {s['registered_at'] or '?'}"
        )
    for i in data["integrations"]:
        lines.append(
            f"  integration {i['integration']} {i['provider']} ({i['store']}): "
            f"{i['at_provider']} at the provider; last known {i['last_known'] or '-'}"
        )
    return "\n".join(lines)


def audit(entries: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{e['decided_at']} #{e['integration_id']} {e['email']} {e['source']}: "
        f"{e['old_state'] or '-'} -> {e['new_state'] or '-'} {e['outcome']} ({e['rule']}: "
        f"{e['reason']}) event {e['event_at'] or '-'}"
        for e in entries
    )


def quarantined(data: dict[str, Any]) -> str:
    if not data["items"]:
        return "nothing quarantined"
    shown = table(
        ["id", "store", "kind", "source", "quarantined", "error"],
        [
            [i["id"], i["store"], i["kind"], i["source"], i["quarantined_at"], i["error"]]
            for i in data["items"]
        ],
    )
    more = data["count"] - len(data["items"])
    return (
        shown
        + (f"\n… and {more} more" if more > 0 else "")
        + "\nreplay one after a fix with `patchbay inbox replay ID`"
    )


def routes(data: dict[str, Any]) -> str:
    if not data["routes"]:
        return (
            "no routes yet: patchbay routes import FILE "
            "(the shipped examples: patchbay routes examples)"
        )
    return table(
        ["id", "name", "trigger", "provider", "stores", "on", "last hour"],
        [
            [
                r["id"],
                r["name"],
                r["trigger"],
                r["provider"],
                ",".join(r["stores"]) or "all",
                "yes" if r["enabled"] else "no",
                _hour(r["last_hour"]),
            ]
            for r in data["routes"]
        ],
    )


def _hour(counts: dict[str, int]) -> str:
    return (
        " ".join(
            f"{k} {counts[k]}"
            for k in ("delivered", "retrying", "dead", "pending")
            if counts.get(k)
        )
        or "-"
    )


def route(data: dict[str, Any]) -> str:
    head = (
        f"route {data['id']}: {data['name']} "
        f"({'enabled' if data['enabled'] else 'disabled'}); last hour: "
        f"{_hour(data['last_hour'])}"
    )
    return f"{head}\n\n{data['toml']}".rstrip()


def route_examples(data: dict[str, Any]) -> str:
    if not data["examples"]:
        return "no examples shipped with this daemon"
    listing = table(
        ["name", "description"],
        [[e["name"], e["description"] or e["title"]] for e in data["examples"]],
    )
    return listing + "\n\nprint one with: patchbay routes examples --show NAME"


def route_import(data: dict[str, Any]) -> str:
    lines = []
    if data["imported"]:
        lines.append(f"imported: route {', '.join(map(str, data['imported']))}")
    if data["kept"]:
        lines.append(f"kept as they were (use --replace): {', '.join(data['kept'])}")
    return "\n".join(lines) or "nothing imported"


def route_test(data: dict[str, Any]) -> str:
    if not data["trigger_matches"]:
        return "the trigger does not match this event: nothing would be sent"
    if not data["conditions_hold"]:
        return "the conditions do not hold for this event: nothing would be sent"
    lines = []
    for d in data["deliveries"]:
        state = f"refused: {d['refused']}" if d["refused"] else "would send"
        lines.append(
            f"action {d['action']} {d['kind']} to {d['contact'] or '-'} ({state}), "
            f"idempotency key {d['key']}:"
        )
        lines.append(json.dumps(d["payload"], indent=2, ensure_ascii=False))
    return "\n".join(lines)


def deliveries(data: dict[str, Any]) -> str:
    if not data["deliveries"]:
        return "no deliveries"
    return table(
        ["id", "status", "route", "integration", "event", "contact", "tries", "last error"],
        [
            [
                d["id"],
                d["status"],
                d["route_name"],
                d["integration"],
                d["event_type"],
                d["contact"],
                d["attempts"],
                (d["last_error"] or "")[:50],
            ]
            for d in data["deliveries"]
        ],
    )


def delivery(data: dict[str, Any]) -> str:
    return (
        pairs(
            [
                ("delivery", f"{data['id']} — {data['status']}"),
                ("route", f"{data['route_name']} (action {data['action']}, {data['kind']})"),
                ("integration", data["integration"]),
                ("event", f"{data['event_type']} {data['event_id']} in store {data['store']}"),
                ("contact", data["contact"]),
                ("idempotency key", data["key"]),
                ("attempts", f"{data['attempts']} (timeout {data['timeout']:g} s each)"),
                (
                    "next attempt",
                    data["next_attempt_at"] if data["status"] in ("pending", "retrying") else "-",
                ),
                ("last error", data["last_error"] or "-"),
                ("delivered at", data["delivered_at"] or "-"),
            ]
        )
        + "\npayload:\n"
        + json.dumps(data["payload"], indent=2, ensure_ascii=False)
    )
