"""What the console shows, as typed records built from the daemon's JSON.

Each `*_from_json` is pure and small: it reads what it needs, takes a missing optional
key (or a null) as its default, keeps a state it does not know as it came (the widgets
draw unknown states plainly), and raises `BadRecord`, naming the record and the key, only
when something it cannot do without is missing or of the wrong kind (an id, a list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return EMPTY


class BadRecord(ValueError):
    """The daemon sent something the console cannot show."""


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise BadRecord(f"{what}: expected an object, got {type(data).__name__}")
    return data


def _list(data: Mapping[str, Any], key: str, what: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord(f"{what}: {key!r} is not a list")
    return value


def _id(data: Mapping[str, Any], key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"{what}: {key!r} must be a whole number, got {value!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = _opt_int(data, key)
    return default if value is None else value


def _text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return default if value is None else str(value)


def _opt_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None or value == "" else str(value)


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else EMPTY


# -- status --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreStatus:
    name: str
    kind: str = "?"
    state: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StatusSummary:
    state: str
    version: str = "?"
    pid: int | None = None
    uptime_seconds: float = 0.0
    listen: str = "?"
    schema_version: int | None = None
    stores: tuple[StoreStatus, ...] = ()
    inbox_pending: int = 0
    inbox_quarantined: int = 0
    outbox_open: int = 0
    connections_open: int | None = None
    connections_max: int | None = None
    degraded: tuple[str, ...] = ()  # why the daemon is not ready, or ()
    database_kind: str = "sqlite"
    daemons: tuple[DaemonSummary, ...] = ()  # those sharing a PostgreSQL state


@dataclass(frozen=True)
class DaemonSummary:
    name: str
    here: bool = False  # the daemon this console talks to
    alive: bool = True  # beat within the lease time
    heartbeat_age: float = 0.0
    holds: tuple[str, ...] = ()


def daemon_from_json(data: Any) -> DaemonSummary:
    item = _object(data, "daemon")
    age = item.get("heartbeat_age")
    return DaemonSummary(
        name=_text(item, "name", "?"),
        here=item.get("self") is True,
        alive=item.get("alive") is not False,
        heartbeat_age=float(age) if isinstance(age, int | float) else 0.0,
        holds=tuple(str(h).split(" ", 1)[0] for h in item.get("holds") or () if isinstance(h, str)),
    )


def store_from_json(data: Any) -> StoreStatus:
    item = _object(data, "store")
    return StoreStatus(
        name=_text(item, "name", "?"),
        kind=_text(item, "kind", "?"),
        state=_opt_text(item, "state"),
        reason=_opt_text(item, "reason"),
    )


@dataclass(frozen=True)
class StoreRow:
    """A store on the store view (GET /v1/stores): `id` is its place in the list (the
    config's order), for the table; the name is what identifies it."""

    id: int
    name: str
    kind: str = "?"
    state: str | None = None
    reason: str | None = None
    checked_at: str | None = None
    webhooks: str | None = None
    customers: int = 0
    orders: int = 0
    events: int = 0
    pending: int = 0
    quarantined: int = 0
    last_received_at: str | None = None
    last_received_from: str | None = None
    import_saved_at: str | None = None


def stores_from_json(data: Any) -> tuple[StoreRow, ...]:
    """GET /v1/stores."""
    rows = []
    for place, raw in enumerate(_list(_object(data, "stores"), "stores", "stores")):
        item = _object(raw, "store")
        rows.append(
            StoreRow(
                id=place,
                name=_text(item, "name", "?"),
                kind=_text(item, "kind", "?"),
                state=_opt_text(item, "state"),
                reason=_opt_text(item, "reason"),
                checked_at=_opt_text(item, "checked_at"),
                webhooks=_opt_text(item, "webhooks"),
                customers=_int(item, "customers"),
                orders=_int(item, "orders"),
                events=_int(item, "events"),
                pending=_int(item, "pending"),
                quarantined=_int(item, "quarantined"),
                last_received_at=_opt_text(item, "last_received_at"),
                last_received_from=_opt_text(item, "last_received_from"),
                import_saved_at=_opt_text(item, "import_saved_at"),
            )
        )
    return tuple(rows)


def status_from_json(data: Any) -> StatusSummary:
    """GET /v1/status."""
    status = _object(data, "status")
    counts = _mapping(status, "counts")
    connections = _mapping(status, "connections")
    uptime = status.get("uptime_seconds")
    return StatusSummary(
        state=_text(status, "state", "unknown"),
        version=_text(status, "version", "?"),
        pid=_opt_int(status, "pid"),
        uptime_seconds=float(uptime) if isinstance(uptime, int | float) else 0.0,
        listen=_text(status, "listen", "?"),
        schema_version=_opt_int(status, "schema_version"),
        stores=tuple(store_from_json(s) for s in _list(status, "stores", "status")),
        inbox_pending=_int(counts, "inbox_pending"),
        inbox_quarantined=_int(counts, "inbox_quarantined"),
        outbox_open=_int(counts, "outbox_open"),
        connections_open=_opt_int(connections, "open"),
        connections_max=_opt_int(connections, "max"),
        degraded=tuple(str(r) for r in status.get("degraded") or () if isinstance(r, str)),
        database_kind=_text(status, "database_kind", "sqlite"),
        daemons=tuple(daemon_from_json(d) for d in status.get("daemons") or ()),
    )


# -- the event log -------------------------------------------------------------------


@dataclass(frozen=True)
class LogEvent:
    id: int
    ts: str = ""
    level: str = "info"
    component: str = "?"
    message: str = ""
    fields: Mapping[str, Any] = field(default_factory=_empty)


def log_event_from_json(data: Any) -> LogEvent:
    """One event of GET /v1/log (a `data:` line of the stream)."""
    event = _object(data, "log event")
    return LogEvent(
        id=_id(event, "id", "log event"),
        ts=_text(event, "ts"),
        level=_text(event, "level", "info"),
        component=_text(event, "component", "?"),
        message=_text(event, "message"),
        fields=_mapping(event, "fields"),
    )


# -- providers and integrations ------------------------------------------------------


@dataclass(frozen=True)
class ProviderOption:
    name: str
    help: str = ""
    required: bool = False
    default: str | None = None


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    title: str
    credential_label: str = "API key"
    options: tuple[ProviderOption, ...] = ()


def provider_from_json(data: Any) -> ProviderSpec:
    spec = _object(data, "provider")
    name = _text(spec, "name")
    if not name:
        raise BadRecord("provider: no 'name'")
    options = []
    for raw in _list(spec, "options", f"provider {name}"):
        option = _object(raw, f"provider {name} option")
        if not _text(option, "name"):
            raise BadRecord(f"provider {name}: an option without a 'name'")
        options.append(
            ProviderOption(
                name=_text(option, "name"),
                help=_text(option, "help"),
                required=bool(option.get("required")),
                default=_opt_text(option, "default"),
            )
        )
    return ProviderSpec(
        name=name,
        title=_text(spec, "title", name),
        credential_label=_text(spec, "secret", "API key"),
        options=tuple(options),
    )


def providers_from_json(data: Any) -> tuple[ProviderSpec, ...]:
    """GET /v1/providers."""
    return tuple(
        provider_from_json(p) for p in _list(_object(data, "providers"), "providers", "providers")
    )


@dataclass(frozen=True)
class IntegrationCard:
    """A live integration (`id` set) or a provider not connected yet (`id` None)."""

    provider: str
    state: str
    id: int | None = None
    title: str | None = None
    store: str | None = None
    account: str | None = None
    reason: str | None = None
    last_activity: str | None = None
    last_activity_at: str | None = None

    @property
    def available(self) -> bool:
        return self.id is None

    @property
    def key(self) -> str:
        """Stable across refreshes: which widget shows this card."""
        return f"p{self.provider}" if self.id is None else f"i{self.id}"


def integration_from_json(data: Any) -> IntegrationCard:
    """A card of GET /v1/integrations, or one integration (connect, check): a card marked
    "available" is a provider; anything else is an integration and needs its id."""
    card = _object(data, "integration")
    provider = _text(card, "provider")
    if not provider:
        raise BadRecord("integration: no 'provider'")
    if card.get("card") == "available":
        return IntegrationCard(
            provider=provider,
            state=_text(card, "state", "available"),
            title=_opt_text(card, "title"),
        )
    return IntegrationCard(
        provider=provider,
        state=_text(card, "state", "unknown"),
        id=_id(card, "id", f"integration ({provider})"),
        store=_opt_text(card, "store"),
        account=_opt_text(card, "account"),
        reason=_opt_text(card, "reason"),
        last_activity=_opt_text(card, "last_activity"),
        last_activity_at=_opt_text(card, "last_activity_at"),
    )


def integrations_from_json(data: Any) -> tuple[IntegrationCard, ...]:
    """GET /v1/integrations: its cards."""
    return tuple(
        integration_from_json(c)
        for c in _list(_object(data, "integrations"), "cards", "integrations")
    )


@dataclass(frozen=True)
class IntegrationAudit:
    ts: str
    action: str
    detail: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True)
class IntegrationDetail:
    """GET /v1/integrations/ID: the card, and what only the detail shows."""

    card: IntegrationCard
    fingerprint: str | None = None
    created_at: str | None = None
    settings: Mapping[str, Any] = field(default_factory=_empty)
    opt_in_url: str | None = None
    opt_out_url: str | None = None
    rate: Mapping[str, Any] = field(default_factory=_empty)  # rate_limit, throttled, usage
    audit: tuple[IntegrationAudit, ...] = ()
    problems: tuple[LogEvent, ...] = ()


def integration_detail_from_json(data: Any) -> IntegrationDetail:
    detail = _object(data, "integration")
    callbacks = _mapping(detail, "callbacks")
    return IntegrationDetail(
        card=integration_from_json(detail),
        fingerprint=_opt_text(detail, "fingerprint"),
        created_at=_opt_text(detail, "created_at"),
        settings=_mapping(detail, "settings"),
        opt_in_url=_opt_text(callbacks, "opt_in"),
        opt_out_url=_opt_text(callbacks, "opt_out"),
        rate=MappingProxyType(
            {k: detail[k] for k in ("rate_limit", "throttled", "usage") if k in detail}
        ),
        audit=tuple(
            IntegrationAudit(
                ts=_text(entry, "ts"),
                action=_text(entry, "action", "?"),
                detail=_mapping(entry, "detail"),
            )
            for entry in (_object(a, "audit entry") for a in _list(detail, "audit", "integration"))
        ),
        problems=tuple(log_event_from_json(e) for e in _list(detail, "problems", "integration")),
    )


@dataclass(frozen=True)
class OrderProblem:
    order: str
    state: str
    reason: str | None = None
    attempts: int = 0
    at: str | None = None


@dataclass(frozen=True)
class OrderReport:
    """One integration on the orders view (GET /v1/orders): its ledger (orders by
    state), its newest export as the daemon sent it (the CLI's bar reads that shape),
    and its problem orders. `id` is the integration's."""

    id: int
    provider: str = "?"
    store: str | None = None
    ledger: Mapping[str, int] = field(default_factory=_empty)
    export: Mapping[str, Any] | None = None
    problems: tuple[OrderProblem, ...] = ()

    @property
    def exporting(self) -> bool:
        return self.export is not None and self.export.get("state") == "running"


def orders_from_json(data: Any) -> tuple[OrderReport, ...]:
    """GET /v1/orders."""
    reports = []
    for raw in _list(_object(data, "orders"), "integrations", "orders"):
        item = _object(raw, "order report")
        ledger = _mapping(item, "ledger")
        export = item.get("export")
        reports.append(
            OrderReport(
                id=_id(item, "integration", "order report"),
                provider=_text(item, "provider", "?"),
                store=_opt_text(item, "store"),
                ledger=MappingProxyType(
                    {str(k): v for k, v in ledger.items() if isinstance(v, int)}
                ),
                export=MappingProxyType(dict(export)) if isinstance(export, Mapping) else None,
                problems=tuple(
                    OrderProblem(
                        order=_text(p, "order", "?"),
                        state=_text(p, "state", "?"),
                        reason=_opt_text(p, "reason"),
                        attempts=_int(p, "attempts"),
                        at=_opt_text(p, "at"),
                    )
                    for p in (
                        _object(x, "order problem") for x in _list(item, "problems", "orders")
                    )
                ),
            )
        )
    return tuple(reports)


# -- syncs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRun:
    id: int
    state: str = "unknown"
    counts: Mapping[str, Any] = field(default_factory=_empty)
    error: str | None = None
    finished_at: str | None = None


@dataclass(frozen=True)
class SyncRow:
    id: int
    integration: int | None = None
    segment: str = "?"
    list_name: str | None = None  # the destination list ("list" in the JSON)
    mode: str = "?"
    state: str = "unknown"
    reason: str | None = None
    running: bool = False
    last_run: SyncRun | None = None


def sync_run_from_json(data: Any) -> SyncRun:
    run = _object(data, "sync run")
    return SyncRun(
        id=_id(run, "id", "sync run"),
        state=_text(run, "state", "unknown"),
        counts=_mapping(run, "counts"),
        error=_opt_text(run, "error"),
        finished_at=_opt_text(run, "finished_at"),
    )


def sync_from_json(data: Any) -> SyncRow:
    sync = _object(data, "sync")
    sync_id = _id(sync, "id", "sync")
    last = sync.get("last_run")
    return SyncRow(
        id=sync_id,
        integration=_opt_int(sync, "integration"),
        segment=_text(sync, "segment", "?"),
        list_name=_opt_text(sync, "list"),
        mode=_text(sync, "mode", "?"),
        state=_text(sync, "state", "unknown"),
        reason=_opt_text(sync, "reason"),
        running=bool(sync.get("running")),
        last_run=None if last is None else sync_run_from_json(last),
    )


def syncs_from_json(data: Any) -> tuple[SyncRow, ...]:
    """GET /v1/syncs."""
    return tuple(sync_from_json(s) for s in _list(_object(data, "syncs"), "syncs", "syncs"))


# -- routes and deliveries --------------------------------------------------------------


@dataclass(frozen=True)
class RouteRow:
    id: int
    name: str = "?"
    trigger: str = "?"
    provider: str = "?"
    stores: tuple[str, ...] = ()
    enabled: bool = False
    last_hour: Mapping[str, int] = field(default_factory=_empty)


def route_from_json(data: Any) -> RouteRow:
    route = _object(data, "route")
    route_id = _id(route, "id", "route")
    hour = {
        str(k): v
        for k, v in _mapping(route, "last_hour").items()
        if isinstance(v, int) and not isinstance(v, bool)
    }
    return RouteRow(
        id=route_id,
        name=_text(route, "name", "?"),
        trigger=_text(route, "trigger", "?"),
        provider=_text(route, "provider", "?"),
        stores=tuple(str(s) for s in _list(route, "stores", f"route {route_id}")),
        enabled=route.get("enabled") is True,
        last_hour=MappingProxyType(hour),
    )


def routes_from_json(data: Any) -> tuple[RouteRow, ...]:
    """GET /v1/routes."""
    return tuple(route_from_json(r) for r in _list(_object(data, "routes"), "routes", "routes"))


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    status: str = "unknown"
    route: int | None = None
    route_name: str = "?"
    integration: int | None = None
    event_type: str = "?"
    contact: str = ""
    attempts: int = 0
    kind: str = "?"
    key: str = ""
    last_error: str | None = None
    payload: Any = None


def delivery_from_json(data: Any) -> DeliveryRow:
    delivery = _object(data, "delivery")
    return DeliveryRow(
        id=_id(delivery, "id", "delivery"),
        status=_text(delivery, "status", "unknown"),
        route=_opt_int(delivery, "route"),
        route_name=_text(delivery, "route_name", "?"),
        integration=_opt_int(delivery, "integration"),
        event_type=_text(delivery, "event_type", "?"),
        contact=_text(delivery, "contact"),
        attempts=_int(delivery, "attempts"),
        kind=_text(delivery, "kind", "?"),
        key=_text(delivery, "key"),
        last_error=_opt_text(delivery, "last_error"),
        payload=delivery.get("payload"),
    )


def deliveries_from_json(data: Any) -> tuple[DeliveryRow, ...]:
    """GET /v1/deliveries."""
    return tuple(
        delivery_from_json(d)
        for d in _list(_object(data, "deliveries"), "deliveries", "deliveries")
    )


# -- the inbox quarantine ----------------------------------------------------------------


@dataclass(frozen=True)
class InboxRow:
    id: int
    store: str = "?"
    kind: str = "?"
    source: str = "?"
    error: str = ""
    received_at: str | None = None
    quarantined_at: str | None = None


@dataclass(frozen=True)
class Quarantine:
    rows: tuple[InboxRow, ...] = ()
    count: int = 0  # all quarantined rows; `rows` may be fewer (the newest)


def inbox_row_from_json(data: Any) -> InboxRow:
    row = _object(data, "inbox row")
    return InboxRow(
        id=_id(row, "id", "inbox row"),
        store=_text(row, "store", "?"),
        kind=_text(row, "kind", "?"),
        source=_text(row, "source", "?"),
        error=_text(row, "error"),
        received_at=_opt_text(row, "received_at"),
        quarantined_at=_opt_text(row, "quarantined_at"),
    )


def quarantine_from_json(data: Any) -> Quarantine:
    """GET /v1/inbox/quarantined."""
    listing = _object(data, "quarantine")
    rows = tuple(inbox_row_from_json(r) for r in _list(listing, "items", "quarantine"))
    return Quarantine(rows=rows, count=max(_int(listing, "count", len(rows)), len(rows)))


# -- consent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentAtStore:
    store: str
    customer: str = "?"
    state: str | None = None
    at: str | None = None
    registered_at: str | None = None


@dataclass(frozen=True)
class ConsentAtIntegration:
    integration: int | None
    provider: str = "?"
    store: str = "?"
    at_provider: str = "unknown"
    last_known: str | None = None


@dataclass(frozen=True)
class ConsentState:
    email: str
    stores: tuple[ConsentAtStore, ...] = ()
    integrations: tuple[ConsentAtIntegration, ...] = ()


def consent_from_json(data: Any) -> ConsentState:
    """GET /v1/consent/{email}."""
    found = _object(data, "consent")
    stores = tuple(
        ConsentAtStore(
            store=_text(s, "store", "?"),
            customer=_text(s, "customer", "?"),
            state=_opt_text(s, "state"),
            at=_opt_text(s, "at"),
            registered_at=_opt_text(s, "registered_at"),
        )
        for s in (_object(raw, "consent store") for raw in _list(found, "stores", "consent"))
    )
    integrations = tuple(
        ConsentAtIntegration(
            integration=_opt_int(i, "integration"),
            provider=_text(i, "provider", "?"),
            store=_text(i, "store", "?"),
            at_provider=_text(i, "at_provider", "unknown"),
            last_known=_opt_text(i, "last_known"),
        )
        for i in (
            _object(raw, "consent integration") for raw in _list(found, "integrations", "consent")
        )
    )
    return ConsentState(email=_text(found, "email", "?"), stores=stores, integrations=integrations)


@dataclass(frozen=True)
class AuditEntry:
    """One consent decision (the history of a contact, or a held-back opt-out)."""

    id: int
    decided_at: str = "?"
    integration_id: int | None = None
    email: str = "?"
    source: str = "?"
    rule: str = "?"
    outcome: str = "unknown"
    old_state: str | None = None
    new_state: str | None = None
    reason: str = ""
    event_at: str | None = None


def audit_entry_from_json(data: Any) -> AuditEntry:
    entry = _object(data, "consent decision")
    return AuditEntry(
        id=_id(entry, "id", "consent decision"),
        decided_at=_text(entry, "decided_at", "?"),
        integration_id=_opt_int(entry, "integration_id"),
        email=_text(entry, "email", "?"),
        source=_text(entry, "source", "?"),
        rule=_text(entry, "rule", "?"),
        outcome=_text(entry, "outcome", "unknown"),
        old_state=_opt_text(entry, "old_state"),
        new_state=_opt_text(entry, "new_state"),
        reason=_text(entry, "reason"),
        event_at=_opt_text(entry, "event_at"),
    )


def history_from_json(data: Any) -> tuple[AuditEntry, ...]:
    """GET /v1/consent/{email}/history."""
    return tuple(
        audit_entry_from_json(e) for e in _list(_object(data, "history"), "history", "history")
    )


def suppressed_from_json(data: Any) -> tuple[AuditEntry, ...]:
    """GET /v1/consent/suppressed."""
    return tuple(
        audit_entry_from_json(e)
        for e in _list(_object(data, "suppressed"), "suppressed", "suppressed")
    )


# -- one sync in full --------------------------------------------------------------------


@dataclass(frozen=True)
class SyncHistoryRun:
    """A run in a sync's history: the run as the listing has it, and when it started."""

    run: SyncRun
    started_at: str | None = None
    full: bool = False


@dataclass(frozen=True)
class SyncFailure:
    """A contact whose last send failed (it is retried on every run), and why."""

    customer: str
    email: str | None = None
    reason: str = ""
    attempts: int = 0
    at: str | None = None


@dataclass(frozen=True)
class SyncDetail:
    """GET /v1/syncs/ID: the sync, its rules, its recent runs (newest first) and its
    failed contacts (the latest first)."""

    sync: SyncRow
    sent: int = 0  # contacts the destination holds from it
    created_at: str | None = None
    mapping: Mapping[str, Any] = field(default_factory=_empty)
    tags: tuple[str, ...] = ()
    export_opted_out: bool = False
    acquired_since: str | None = None
    acquired_until: str | None = None
    runs: tuple[SyncHistoryRun, ...] = ()
    failures: tuple[SyncFailure, ...] = ()


def sync_detail_from_json(data: Any) -> SyncDetail:
    detail = _object(data, "sync")
    sync = sync_from_json(detail)
    what = f"sync {sync.id}"
    rules = _mapping(detail, "rules")
    runs = tuple(
        SyncHistoryRun(
            run=sync_run_from_json(raw),
            started_at=_opt_text(raw, "started_at"),
            full=raw.get("full") is True,
        )
        for raw in (_object(r, f"{what} run") for r in _list(detail, "runs", what))
    )
    failures = tuple(
        SyncFailure(
            customer=_text(raw, "customer", "?"),
            email=_opt_text(raw, "email"),
            reason=_text(raw, "reason"),
            attempts=_int(raw, "attempts"),
            at=_opt_text(raw, "at"),
        )
        for raw in (_object(f, f"{what} failure") for f in _list(detail, "failures", what))
    )
    return SyncDetail(
        sync=sync,
        sent=_int(detail, "sent"),
        created_at=_opt_text(detail, "created_at"),
        mapping=_mapping(rules, "mapping"),
        tags=tuple(str(t) for t in rules.get("tags") or () if isinstance(t, str)),
        export_opted_out=rules.get("export_opted_out") is True,
        acquired_since=_opt_text(rules, "acquired_since"),
        acquired_until=_opt_text(rules, "acquired_until"),
        runs=runs,
        failures=failures,
    )
