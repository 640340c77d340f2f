"""The daemon's JSON -> the console's records: a table of cases per reader (missing
optional keys take their defaults, unknown states stay as they came, what cannot be done
without raises BadRecord naming it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from patchbay.tui import records as r
from tests.console import fake


def cases(*rows: tuple[str, Callable[[Any], Any], Any, Any]) -> list[Any]:
    return [pytest.param(reader, data, expected, id=name) for name, reader, data, expected in rows]


STATUS = cases(
    (
        "status, whole",
        r.status_from_json,
        fake.STATUS,
        r.StatusSummary(
            state="running",
            version="0.1.0",
            pid=4242,
            uptime_seconds=5432.0,
            listen="127.0.0.1:8080",
            schema_version=9,
            stores=(r.StoreStatus("shop", "shopify", "ok"), r.StoreStatus("loyalty", "push", "ok")),
            inbox_pending=3,
            inbox_quarantined=2,
            outbox_open=5,
            connections_open=2,
            connections_max=1000,
        ),
    ),
    ("status, empty", r.status_from_json, {}, r.StatusSummary(state="unknown")),
    (
        "status, nulls",
        r.status_from_json,
        {"state": "starting", "counts": None, "connections": None, "stores": None, "pid": None},
        r.StatusSummary(state="starting"),
    ),
    (
        "status, a store with only a name",
        r.status_from_json,
        {"state": "running", "stores": [{"name": "x"}]},
        r.StatusSummary(state="running", stores=(r.StoreStatus("x"),)),
    ),
    (
        "status, counts of the wrong kind",
        r.status_from_json,
        {"state": "running", "counts": {"inbox_pending": "3", "outbox_open": True}},
        r.StatusSummary(state="running"),
    ),
    ("status, not an object", r.status_from_json, [], "status: expected an object"),
    (
        "status, stores not a list",
        r.status_from_json,
        {"stores": "shop"},
        "status: 'stores' is not a list",
    ),
)

LOG = cases(
    (
        "event, whole",
        r.log_event_from_json,
        fake.EVENTS[3],
        r.LogEvent(
            id=4,
            ts="2026-11-22T10:03:00.000Z",
            level="warning",
            component="integrations",
            message="integration state changed",
            fields={"integration": 3, "state": "error", "reason": "API key revoked"},
        ),
    ),
    ("event, only an id", r.log_event_from_json, {"id": 7}, r.LogEvent(id=7)),
    (
        "event, a level this console does not know",
        r.log_event_from_json,
        {"id": 7, "level": "trace"},
        r.LogEvent(id=7, level="trace"),
    ),
    ("event, no id", r.log_event_from_json, {"message": "x"}, "log event: 'id' must be"),
    ("event, id a string", r.log_event_from_json, {"id": "7"}, "log event: 'id' must be"),
    ("event, id a bool", r.log_event_from_json, {"id": True}, "log event: 'id' must be"),
)

PROVIDERS = cases(
    (
        "provider, whole",
        r.provider_from_json,
        fake.PROVIDERS["providers"][4],
        r.ProviderSpec(
            name="webhook",
            title="Webhook",
            credential_label="signing secret",
            options=tuple(
                r.ProviderOption(o["name"], o["help"], o["required"], o["default"])
                for o in fake.OPTIONS
            ),
        ),
    ),
    (
        "provider, only a name",
        r.provider_from_json,
        {"name": "x"},
        r.ProviderSpec(name="x", title="x"),
    ),
    (
        "provider, an option with only a name",
        r.provider_from_json,
        {"name": "x", "options": [{"name": "owner", "required": 1}]},
        r.ProviderSpec(name="x", title="x", options=(r.ProviderOption("owner", required=True),)),
    ),
    ("provider, no name", r.provider_from_json, {"title": "X"}, "provider: no 'name'"),
    (
        "provider, an option without a name",
        r.provider_from_json,
        {"name": "x", "options": [{"help": "?"}]},
        "provider x: an option without a 'name'",
    ),
    ("providers, none", r.providers_from_json, {}, ()),
)

INTEGRATIONS = cases(
    (
        "card, an integration",
        r.integration_from_json,
        fake.INTEGRATIONS["cards"][2],
        r.IntegrationCard(
            provider="salesmanago",
            state="error",
            id=3,
            store="loyalty",
            account="demo-client",
            reason="API key revoked: 401 Unauthorized",
        ),
    ),
    (
        "card, available",
        r.integration_from_json,
        fake.INTEGRATIONS["cards"][4],
        r.IntegrationCard(provider="mailchimp", state="available", title="Mailchimp"),
    ),
    (
        "card, available without title or state",
        r.integration_from_json,
        {"card": "available", "provider": "webhook"},
        r.IntegrationCard(provider="webhook", state="available"),
    ),
    (
        "card, what connect answers (no 'card')",
        r.integration_from_json,
        {"id": 9, "provider": "omnisend", "store": "shop", "state": "connected"},
        r.IntegrationCard(provider="omnisend", state="connected", id=9, store="shop"),
    ),
    (
        "card, a state this console does not know",
        r.integration_from_json,
        {"id": 9, "provider": "omnisend", "state": "hibernating", "account": ""},
        r.IntegrationCard(provider="omnisend", state="hibernating", id=9),
    ),
    (
        "card, no state",
        r.integration_from_json,
        {"id": 9, "provider": "omnisend"},
        r.IntegrationCard(provider="omnisend", state="unknown", id=9),
    ),
    (
        "card, an integration without an id",
        r.integration_from_json,
        {"card": "integration", "provider": "omnisend"},
        "integration (omnisend): 'id' must be",
    ),
    ("card, no provider", r.integration_from_json, {"id": 1}, "integration: no 'provider'"),
    ("cards, none", r.integrations_from_json, {"integrations": []}, ()),
    (
        "cards, not a list",
        r.integrations_from_json,
        {"cards": {}},
        "integrations: 'cards' is not a list",
    ),
)

SYNCS = cases(
    (
        "sync, running",
        r.sync_from_json,
        fake.SYNCS["syncs"][1],
        r.SyncRow(
            id=2,
            integration=4,
            segment="all",
            list_name="VIP",
            mode="once",
            state="running",
            running=True,
            last_run=r.SyncRun(
                id=8, state="running", counts=fake.SYNCS["syncs"][1]["last_run"]["counts"]
            ),
        ),
    ),
    (
        "sync, never ran",
        r.sync_from_json,
        fake.SYNCS["syncs"][2],
        r.SyncRow(
            id=3,
            integration=3,
            segment="members",
            mode="active",
            state="error",
            reason="integration 3 is in error",
        ),
    ),
    ("sync, only an id", r.sync_from_json, {"id": 5}, r.SyncRow(id=5)),
    (
        "sync, a run with only an id",
        r.sync_from_json,
        {"id": 5, "last_run": {"id": 1}},
        r.SyncRow(id=5, last_run=r.SyncRun(id=1)),
    ),
    (
        "sync, a state this console does not know",
        r.sync_from_json,
        {"id": 5, "state": "thawing"},
        r.SyncRow(id=5, state="thawing"),
    ),
    (
        "sync, a run without an id",
        r.sync_from_json,
        {"id": 5, "last_run": {}},
        "sync run: 'id' must be",
    ),
    ("syncs, none", r.syncs_from_json, {"syncs": []}, ()),
)

ROUTES = cases(
    (
        "route, whole",
        r.route_from_json,
        fake.ROUTES["routes"][0],
        r.RouteRow(
            id=1,
            name="Wallet coins awarded",
            trigger="loyalty.points_awarded",
            provider="omnisend",
            stores=("loyalty",),
            enabled=True,
            last_hour={"delivered": 41, "retrying": 1},
        ),
    ),
    ("route, only an id", r.route_from_json, {"id": 2}, r.RouteRow(id=2)),
    (
        "route, enabled must be true itself",
        r.route_from_json,
        {"id": 2, "enabled": "yes"},
        r.RouteRow(id=2),
    ),
    (
        "route, counts that are not numbers are left out",
        r.route_from_json,
        {"id": 2, "last_hour": {"dead": 1, "pending": "2", "retrying": None}},
        r.RouteRow(id=2, last_hour={"dead": 1}),
    ),
    (
        "route, stores not a list",
        r.route_from_json,
        {"id": 2, "stores": "shop"},
        "route 2: 'stores' is not a list",
    ),
)

DELIVERIES = cases(
    (
        "delivery, dead",
        r.delivery_from_json,
        fake.DELIVERIES["deliveries"][0],
        r.DeliveryRow(
            id=44,
            status="dead",
            route=3,
            route_name="Coupon created for a very loyal member of the club",
            integration=4,
            event_type="loyalty.coupon_created",
            contact="annabelle.longname@example.com",
            attempts=5,
            kind="track_event",
            key="r3:loyalty:e44:0",
            last_error="HTTP 400 from omnisend: invalid property 'code' (must be a string)",
            payload=fake.DELIVERIES["deliveries"][0]["payload"],
        ),
    ),
    ("delivery, only an id", r.delivery_from_json, {"id": 1}, r.DeliveryRow(id=1)),
    (
        "delivery, a status this console does not know",
        r.delivery_from_json,
        {"id": 1, "status": "parked", "contact": None},
        r.DeliveryRow(id=1, status="parked"),
    ),
    (
        "deliveries, not an object",
        r.deliveries_from_json,
        None,
        "deliveries: expected an object, got NoneType",
    ),
)

INBOX = cases(
    (
        "quarantine, whole",
        r.quarantine_from_json,
        fake.QUARANTINE,
        r.Quarantine(
            rows=(
                r.InboxRow(
                    812,
                    "loyalty",
                    "customers",
                    "ingest",
                    "created_at: 0001-01-01T00:00:00+01:00 is out of range",
                    "2026-11-22T10:00:00Z",
                    "2026-11-22T10:00:01Z",
                ),
                r.InboxRow(
                    790,
                    "shop",
                    "orders",
                    "webhook",
                    "line_items[3].price: not a number: 'free'",
                    "2026-11-22T09:58:00Z",
                    "2026-11-22T09:58:02Z",
                ),
            ),
            count=2,
        ),
    ),
    (
        "quarantine, more than shown",
        r.quarantine_from_json,
        {"items": [{"id": 1}], "count": 40},
        r.Quarantine(rows=(r.InboxRow(1),), count=40),
    ),
    (
        "quarantine, no count",
        r.quarantine_from_json,
        {"items": [{"id": 1}]},
        r.Quarantine(rows=(r.InboxRow(1),), count=1),
    ),
    (
        "quarantine, a count below the rows shown",
        r.quarantine_from_json,
        {"items": [{"id": 1}, {"id": 2}], "count": 0},
        r.Quarantine(rows=(r.InboxRow(1), r.InboxRow(2)), count=2),
    ),
    ("quarantine, empty", r.quarantine_from_json, {}, r.Quarantine()),
    (
        "quarantine, a row without an id",
        r.quarantine_from_json,
        {"items": [{}]},
        "inbox row: 'id' must be",
    ),
)

CONSENT = cases(
    (
        "consent, whole",
        r.consent_from_json,
        fake.CONSENT,
        r.ConsentState(
            email="quick@example.com",
            stores=(
                r.ConsentAtStore(
                    "shop", "q1", "unsubscribed", "2026-11-22T10:05:00Z", "2026-11-22T10:00:00Z"
                ),
            ),
            integrations=(
                r.ConsentAtIntegration(1, "omnisend", "shop", "subscribed", "subscribed"),
            ),
        ),
    ),
    (
        "consent, nothing known",
        r.consent_from_json,
        {"email": "a@b.c"},
        r.ConsentState(email="a@b.c"),
    ),
    (
        "consent, sparse",
        r.consent_from_json,
        {"email": "a@b.c", "stores": [{"store": "s"}], "integrations": [{}]},
        r.ConsentState(
            email="a@b.c",
            stores=(r.ConsentAtStore("s"),),
            integrations=(r.ConsentAtIntegration(None),),
        ),
    ),
    (
        "history, whole",
        r.history_from_json,
        fake.HISTORY,
        tuple(
            r.AuditEntry(
                id=e["id"],
                decided_at=e["decided_at"],
                integration_id=1,
                email="quick@example.com",
                source="store",
                rule=e["rule"],
                outcome=e["outcome"],
                old_state=e["old_state"],
                new_state=e["new_state"],
                reason=e["reason"],
                event_at=e["event_at"],
            )
            for e in fake.HISTORY["history"]
        ),
    ),
    (
        "history, an outcome this console does not know",
        r.history_from_json,
        {"history": [{"id": 1, "outcome": "deferred"}]},
        (r.AuditEntry(id=1, outcome="deferred"),),
    ),
    ("suppressed, none", r.suppressed_from_json, {"suppressed": []}, ()),
    (
        "suppressed, an entry without an id",
        r.suppressed_from_json,
        {"suppressed": [{}]},
        "consent decision: 'id' must be",
    ),
)


@pytest.mark.parametrize(
    ("reader", "data", "expected"),
    [*STATUS, *LOG, *PROVIDERS, *INTEGRATIONS, *SYNCS, *ROUTES, *DELIVERIES, *INBOX, *CONSENT],
)
def test_from_json(reader: Callable[[Any], Any], data: Any, expected: Any) -> None:
    if isinstance(expected, str):
        with pytest.raises(r.BadRecord) as caught:
            reader(data)
        assert str(caught.value).startswith(expected), caught.value
    else:
        assert reader(data) == expected


def test_every_answer_of_the_fake_installation_reads() -> None:
    """The fake daemon's answers (the snapshots' data) are what the readers expect."""
    assert len(r.integrations_from_json(fake.INTEGRATIONS)) == 6
    assert len(r.syncs_from_json(fake.SYNCS)) == 3
    assert len(r.routes_from_json(fake.ROUTES)) == 3
    assert len(r.deliveries_from_json(fake.DELIVERIES)) == 4
    assert r.providers_from_json(fake.PROVIDERS)[2].options[0].required


def test_records_are_frozen() -> None:
    card = r.integration_from_json(fake.INTEGRATIONS["cards"][0])
    with pytest.raises(AttributeError):
        card.state = "error"  # type: ignore[misc]
    assert card.key == "i1" and not card.available
    assert r.integration_from_json(fake.INTEGRATIONS["cards"][4]).key == "pmailchimp"


def test_what_a_record_holds_is_its_own() -> None:
    """A record keeps no reference into the JSON it was read from."""
    data = {"id": 1, "fields": {"a": 1}}
    event = r.log_event_from_json(data)
    data["fields"]["a"] = 2
    assert event.fields == {"a": 1}


def test_a_cluster_status_reads_and_shows_who_beats_and_what_this_one_holds() -> None:
    from rich.text import Text

    from patchbay.tui.widgets.status_panel import cluster_line

    status = r.status_from_json(
        {
            "state": "running",
            "database_kind": "postgresql",
            "daemons": [
                {
                    "name": "a:1:x",
                    "self": True,
                    "alive": True,
                    "holds": ["inbox (token 3, 9s left)"],
                },
                {"name": "b:2:y", "alive": True, "heartbeat_age": 2.0, "holds": []},
                {"name": "c:3:z", "alive": False, "heartbeat_age": 31.0, "holds": ["store:s (x)"]},
            ],
        }
    )
    assert status.database_kind == "postgresql"
    assert [(d.name, d.here, d.alive, d.holds) for d in status.daemons] == [
        ("a:1:x", True, True, ("inbox",)),
        ("b:2:y", False, True, ()),
        ("c:3:z", False, False, ("store:s",)),
    ]
    text = Text()
    cluster_line(text, status.daemons)
    assert text.plain == "cluster: 2 daemons, 1 silent; this one holds inbox\n"
    assert any("red" in str(span.style) for span in text.spans)  # silent looks like trouble
    assert r.status_from_json({"state": "running"}).database_kind == "sqlite"
