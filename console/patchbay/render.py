"""Human output for the CLI: short aligned tables and one-line events."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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


def moment(timestamp: Any) -> datetime | None:
    """The daemon's ISO time (a trailing Z, or no zone: UTC), or None when it is not one."""
    try:
        parsed = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def ago(timestamp: str | None, now: datetime) -> str:
    """An ISO time from the daemon as an age ("3m 5s ago"); "-" for none, and the text
    as it came when it is not a time (a console shows it rather than hide it)."""
    if not timestamp:
        return "-"
    at = moment(timestamp)
    if at is None:
        return timestamp
    seconds = (now - at).total_seconds()
    if seconds < 0:
        return "in " + duration(-seconds)
    return "just now" if seconds < 1 else duration(seconds) + " ago"


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
            ("database", f"{data.get('database_kind', 'sqlite')} {data.get('database', '')}"),
            *(("daemons", line) for line in daemon_lines(data.get("daemons") or [])),
        ]
    )


def daemon_lines(daemons: list[dict[str, Any]]) -> list[str]:
    """One line per daemon sharing the state: which, its last heartbeat, what it holds."""
    lines = []
    for d in daemons:
        holds = ", ".join(d.get("holds") or []) or "nothing"
        where = f" {d['listen']}" if d.get("listen") else ""
        beat = "" if d.get("self") else f", heartbeat {d.get('heartbeat_age', 0):.0f}s ago"
        mark = " (this one)" if d.get("self") else ""
        lines.append(f"{d.get('name')}{mark}{where}{beat}; holds {holds}")
    return lines


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
        ("rate limit", rate_use(data)),
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
    problems = data.get("problems") or []
    if problems:
        text += "\n\nrecent warnings and errors:\n" + "\n".join(
            f"  {event_line(e)}" for e in problems
        )
    return text


def rate_use(data: dict[str, Any]) -> str:
    """An integration's limit and its use now, from GET /v1/integrations/ID: what an
    operator asks when a sync crawls (is it the limit? is the provider holding us?)."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return f"{data.get('rate_limit')} ({data.get('throttled', 0)} throttled)"
    sent, per_minute = usage.get("sent_last_minute", 0), usage.get("per_minute", 0)
    parts = [str(usage.get("limit", "none"))]
    share = f" ({100 * sent // per_minute} %)" if per_minute else ""
    parts.append(f"{sent} sent last minute{share}")
    if usage.get("waiting"):
        parts.append(f"{usage['waiting']} waiting")
    if usage.get("held_for"):
        parts.append(f"provider asked to pause: {usage['held_for']} s left")
    parts.append(f"{usage.get('throttled', 0)} throttled")
    return " · ".join(parts)


def _filtered(counts: dict[str, Any]) -> str:
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in counts.get("filtered", {}).items() if v]
    return ", ".join(parts) or "none"


def counts_line(counts: dict[str, Any]) -> str:
    return (
        f"scanned {counts.get('scanned', 0)}, sent {counts.get('sent', 0)}, "
        f"failed {counts.get('failed', 0)}, unchanged {counts.get('unchanged', 0)}, "
        f"filtered: {_filtered(counts)}"
    )


Sample = tuple[float, int]  # (seconds on one clock, rows a run has scanned by then)
PACE_WINDOW = 30.0  # the rate is over about the last this many seconds: recent, not jumpy
PACE_SETTLE = 5.0  # no row moved for this long (or longer): the rate is 0, not unknown


@dataclass(frozen=True)
class Pace:
    """How fast a run goes through its rows and when it will be through them. The
    daemon's own `rate` counts contacts sent, which says nothing about the rows left
    when most are unchanged or filtered; this counts rows scanned, as the bar does.
    `rate` None: not measured yet; `eta` None: unknown (no total, not measured, stalled)."""

    rate: float | None = None
    eta: float | None = None


def observe(
    samples: tuple[Sample, ...], at: float, scanned: int, window: float = PACE_WINDOW
) -> tuple[Sample, ...]:
    """`samples` with (at, scanned) added, oldest first. What is older than `window` is
    dropped, but for one sample as old as the window or older (the rate is measured over
    the whole window); a count lower than the last, or a clock that went back, is a new
    run: the samples start over."""
    if samples and (scanned < samples[-1][1] or at < samples[-1][0]):
        samples = ()
    kept = (*samples, (at, scanned))
    while len(kept) > 2 and at - kept[1][0] >= window:
        kept = kept[1:]
    return kept


def pace(samples: tuple[Sample, ...], total: int | None, settle: float = PACE_SETTLE) -> Pace:
    """Rows per second over the samples, and the seconds left for the rows to `total`
    at that rate. Not measured until time has passed and either a row moved or `settle`
    seconds went by without one (the counts move a batch at a time)."""
    if len(samples) < 2:
        return Pace()
    (first_at, first), (last_at, last) = samples[0], samples[-1]
    span = last_at - first_at
    if span <= 0 or (last == first and span < settle):
        return Pace()
    rate = max(0, last - first) / span
    left = None if total is None else max(0, total - last)
    if left is None or (left and not rate):
        return Pace(rate)
    return Pace(rate, left / rate if left else 0.0)


def pace_text(found: Pace) -> str:
    """The rate and the time left ("52 rows/s · ETA 1m 5s"), or that there is nothing
    to go by yet."""
    if found.rate is None:
        return "measuring the rate …"
    rate = f"{found.rate:.1f}" if found.rate < 10 else f"{found.rate:,.0f}"
    eta = "-" if found.eta is None else duration(found.eta + 0.5)  # rounded, not cut
    return f"{rate} rows/s · ETA {eta}"


def seconds_of(timestamp: Any) -> float | None:
    """An ISO time from the daemon as seconds (a sample's clock), None if it is not one."""
    at = moment(timestamp)
    return None if at is None else at.timestamp()


def progress_bar(fields: dict[str, Any], width: int = 30, found: Pace | None = None) -> str:
    """One line of `sync progress --follow`: the bar, then the rate and ETA (first, so a
    narrow terminal cuts the counts rather than them), then the counts."""
    total, scanned = fields.get("total") or 0, fields.get("scanned") or 0
    share = 1.0 if fields.get("done") else min(1.0, scanned / total if total else 0.0)
    filled = int(share * width)
    bar = "#" * filled + "." * (width - filled)
    if fields.get("done"):
        speed = "done" + (f", {fields['rate']} sent/s" if fields.get("rate") else "")
    else:
        speed = pace_text(found or Pace())
    return (
        f"[{bar}] {share:4.0%}  {speed}  sent {fields.get('sent', 0)}  failed "
        f"{fields.get('failed', 0)}  filtered {sum(fields.get('filtered', {}).values())}"
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


ORDER_SETTLED = ("sent", "failed", "in_doubt", "ineligible")  # an order's first attempt is over


def order_through(export: dict[str, Any]) -> int:
    """Orders of an export whose first attempt is over (what its bar counts)."""
    return sum(export.get(k) or 0 for k in ORDER_SETTLED)


def _order_counts(export: dict[str, Any]) -> str:
    total = export.get("total")
    text = (
        f"{total} orders: sent {export.get('sent') or 0}, failed {export.get('failed') or 0},"
        f" in doubt {export.get('in_doubt') or 0}, ineligible {export.get('ineligible') or 0}"
        if total is not None
        else "waiting for the export under way to end"
    )
    if export.get("waiting"):
        text += f", waiting {export['waiting']}"
    if export.get("resent"):
        text += f" ({export['resent']} re-sent after an interruption)"
    return text


def _order_mode(export: dict[str, Any]) -> str:
    follows = " (new paid orders follow by themselves)" if export["mode"] == "active" else ""
    return f"mode: {export['mode']}{follows}"


def order_export_started(export: dict[str, Any], hint: bool = True) -> str:
    """The answer to `orders export` (POST .../orders/export): the export under way, and
    (`hint`) how to follow it."""
    head = f"order export {export['id']} of integration {export['integration']}"
    if export.get("already_running"):
        head += f" is already running (since {export['started_at']}): {_order_counts(export)}"
    else:
        head += " started; it goes on in the daemon"
    text = f"{head}\n{_order_mode(export)}"
    if hint:
        text += f"\nfollow it: patchbay orders status {export['integration']} --follow"
    return text


def order_export_bar(export: dict[str, Any], found: Pace | None = None) -> str:
    """An export under way on the one progress bar (`sync progress --follow`'s)."""
    return progress_bar(
        {
            "total": export.get("total") or 0,
            "scanned": order_through(export),
            "sent": export.get("sent") or 0,
            "failed": export.get("failed") or 0,
            "filtered": {"ineligible": export.get("ineligible") or 0},
            "done": export.get("state") != "running",
        },
        found=found,
    )


def order_export(export: dict[str, Any]) -> str:
    """An export run: state, counts, mode, and why it failed."""
    lines = [
        f"order export {export['id']} of integration {export['integration']}: "
        f"{export['state']} — {_order_counts(export)}",
        _order_mode(export),
        f"started {export['started_at']}"
        + (f", finished {export['finished_at']}" if export.get("finished_at") else ""),
    ]
    if export.get("error"):
        lines.append(f"{'failed' if export['state'] == 'failed' else 'note'}: {export['error']}")
    return "\n".join(lines)


def order_status(data: dict[str, Any]) -> str:
    """GET .../orders: the ledger of the integration, its newest export, the orders that
    need a look."""
    ledger = data.get("ledger") or {}
    lines = ["ledger: " + (", ".join(f"{k} {v}" for k, v in sorted(ledger.items())) or "empty")]
    export = data.get("export")
    lines.append(order_export(export) if export else "no export asked for yet")
    for problem in data.get("problems") or []:
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
