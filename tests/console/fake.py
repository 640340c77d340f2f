"""A daemon in memory for the console: canned answers by request, the requests it got, and
a log stream that stays open until `go_away()`. `PatchbayApp(..., open_client=fake.open)`
talks to it instead of a socket."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from patchbay.client import ApiFailure, DaemonUnreachable

SOCKET = Path("/run/patchbay/fake.sock")

# An answer: JSON, an exception to raise, or a function of the query (GET) or body (POST).
Answer = Any


class FakeDaemon:
    def __init__(
        self,
        answers: dict[str, Answer],
        events: list[dict[str, Any]] | None = None,
        *,
        down: str | None = None,
    ) -> None:
        self.answers = answers  # "GET /v1/routes" -> answer
        self.events = events or []
        self.down = down  # set: unreachable, for this reason
        self.requests: list[tuple[str, str, Any]] = []
        self._gone: asyncio.Event | None = None

    def open(self, socket: Path, timeout: float) -> FakeClient:
        return FakeClient(self, socket)

    def go_away(self, reason: str = "connection closed: the daemon went away") -> None:
        """As if the daemon stopped: the log stream ends, every request fails."""
        self.down = reason
        if self._gone is not None:
            self._gone.set()

    def come_back(self) -> None:
        self.down = None
        self._gone = None

    def calls(self, method: str | None = None) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if method is None or r[0] == method]

    def answer(self, socket: Path, method: str, path: str, given: Any) -> Any:
        if self.down is not None:
            raise DaemonUnreachable(socket, self.down)
        self.requests.append((method, path, given))
        found = self.answers.get(f"{method} {path}")
        if found is None:
            raise ApiFailure(404, "not_found", f"no such endpoint: {method} {path}")
        if isinstance(found, Exception):
            raise found
        if callable(found):
            return found(given)
        return copy.deepcopy(found)


class FakeClient:
    def __init__(self, daemon: FakeDaemon, socket: Path) -> None:
        self.daemon, self.socket = daemon, socket

    async def __aenter__(self) -> FakeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, path: str, **params: Any) -> Any:
        return self.daemon.answer(self.socket, "GET", path, params)

    async def post(self, path: str, body: Any = None) -> Any:
        return self.daemon.answer(self.socket, "POST", path, body)

    async def delete(self, path: str) -> Any:
        return self.daemon.answer(self.socket, "DELETE", path, None)

    async def stream(self, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        daemon = self.daemon
        if daemon.down is not None:
            raise DaemonUnreachable(self.socket, daemon.down)
        if daemon._gone is None:
            daemon._gone = asyncio.Event()
        for event in daemon.events:
            seen = isinstance(event.get("id"), int) and event["id"] <= params.get("after", 0)
            if not seen:
                yield copy.deepcopy(event)
        await daemon._gone.wait()
        raise DaemonUnreachable(self.socket, daemon.down or "connection closed")


# -- what a small installation looks like ------------------------------------------------

STATUS = {
    "version": "0.1.0",
    "state": "running",
    "pid": 4242,
    "uptime_seconds": 5432,
    "listen": "127.0.0.1:8080",
    "schema_version": 9,
    "socket": str(SOCKET),
    "connections": {"open": 2, "max": 1000, "refused": 0, "timed_out": 0},
    "stores": [
        {"name": "shop", "kind": "shopify", "state": "ok", "reason": None},
        {"name": "loyalty", "kind": "push", "state": "ok"},
    ],
    "counts": {
        "integrations": 4,
        "customers": 1200,
        "inbox_pending": 3,
        "inbox_quarantined": 2,
        "outbox_open": 5,
    },
}

OPTIONS = [
    {
        "name": "base_url",
        "help": "API address (the sandbox's, or a proxy's)",
        "required": False,
        "default": None,
    },
    {
        "name": "rate_limit",
        "help": "requests per window, e.g. 400/min; 'none' disables",
        "required": False,
        "default": None,
    },
    {
        "name": "opt_out_guard",
        "help": "store-side opt-outs sooner than this after registration are held back",
        "required": False,
        "default": "15m",
    },
    {
        "name": "fetch_on_register",
        "help": "on: look new customers without consent up at the provider",
        "required": False,
        "default": "on",
    },
]

PROVIDERS = {
    "providers": [
        {
            "name": "omnisend",
            "title": "Omnisend",
            "secret": "API key",
            "has_lists": False,
            "default_rate_limit": "400/min",
            "options": OPTIONS,
        },
        {
            "name": "klaviyo",
            "title": "Klaviyo",
            "secret": "private API key",
            "has_lists": True,
            "default_rate_limit": "350/s",
            "options": OPTIONS,
        },
        {
            "name": "salesmanago",
            "title": "SALESmanago",
            "secret": "API secret",
            "has_lists": False,
            "default_rate_limit": "none",
            "options": [
                {"name": "client_id", "help": "the client id", "required": True, "default": None},
                {"name": "owner", "help": "the owner's email", "required": True, "default": None},
                *OPTIONS,
            ],
        },
        {
            "name": "mailchimp",
            "title": "Mailchimp",
            "secret": "API key",
            "has_lists": True,
            "default_rate_limit": "10/s",
            "options": OPTIONS,
        },
        {
            "name": "webhook",
            "title": "Webhook",
            "secret": "signing secret",
            "has_lists": False,
            "default_rate_limit": "none",
            "options": OPTIONS,
        },
    ]
}


def integration(id: int, provider: str, store: str, state: str, **more: Any) -> dict[str, Any]:
    return {
        "card": "integration",
        "id": id,
        "provider": provider,
        "store": store,
        "state": state,
        "reason": None,
        "account": None,
        "settings": {},
        "fingerprint": "ab12",
        "created_at": "2026-11-22T09:00:00Z",
        "last_activity_at": None,
        "last_activity": None,
        **more,
    }


INTEGRATIONS = {
    "cards": [
        integration(
            1,
            "omnisend",
            "shop",
            "active",
            account="Omnisend account 61f0",
            last_activity="sync 1: 1180 contacts",
            last_activity_at="2026-11-22T10:04:59.123Z",
        ),
        integration(
            2,
            "klaviyo",
            "shop",
            "connected",
            account="Sandbox Store",
            last_activity="delivery 38 (orders)",
            last_activity_at="2026-11-22T10:03:00Z",
        ),
        integration(
            3,
            "salesmanago",
            "loyalty",
            "error",
            account="demo-client",
            reason="API key revoked: 401 Unauthorized",
        ),
        integration(
            4,
            "omnisend",
            "loyalty",
            "syncing",
            account="Omnisend account 61f0",
            last_activity="sync 2 running",
            last_activity_at="2026-11-22T10:05:00Z",
        ),
        {"card": "available", "provider": "mailchimp", "state": "available", "title": "Mailchimp"},
        {"card": "available", "provider": "webhook", "state": "available", "title": "Webhook"},
    ]
}

INTEGRATION_3 = {
    **INTEGRATIONS["cards"][2],
    "fingerprint": "sha256:9f2c41d0",
    "settings": {"owner": "ops@example.com"},
    "callbacks": {
        "opt_in": "http://127.0.0.1:8780/callbacks/Xq3v9TzL0aB1cD2eF3gH4iJ5/opt-in?email=$email$",
        "opt_out": "http://127.0.0.1:8780/callbacks/Xq3v9TzL0aB1cD2eF3gH4iJ5/opt-out?email=$email$",
    },
    "rate_limit": "1000/min",
    "throttled": 2,
    "usage": {
        "limit": "1000/min",
        "sent_last_minute": 412,
        "per_minute": 1000,
        "waiting": 3,
        "held_for": 0.0,
        "throttled": 2,
    },
    "audit": [
        {
            "id": 9,
            "ts": "2026-11-22T10:03:10Z",
            "action": "integration.error",
            "integration_id": 3,
            "detail": {"reason": "API key revoked: 401 Unauthorized"},
        },
        {
            "id": 4,
            "ts": "2026-11-22T09:00:00Z",
            "action": "integration.connected",
            "integration_id": 3,
            "detail": {"provider": "salesmanago", "store": "loyalty", "fingerprint": "sha256:9f2c"},
        },
    ],
    "problems": [
        {
            "id": 30,
            "ts": "2026-11-22T10:02:00Z",
            "kind": "log",
            "level": "warning",
            "component": "integrations",
            "message": "integration check failed",
            "fields": {"integration": 3, "reason": "Service Unavailable (HTTP 503)"},
        },
        {
            "id": 31,
            "ts": "2026-11-22T10:03:10Z",
            "kind": "log",
            "level": "error",
            "component": "integrations",
            "message": "integration credentials rejected",
            "fields": {"integration": 3, "reason": "API key revoked: 401 Unauthorized"},
        },
    ],
}

STORES = {
    "stores": [
        {
            "name": "shop",
            "kind": "shopify",
            "state": "ok",
            "reason": None,
            "checked_at": "2026-11-22T10:05:30Z",
            "webhooks": "https://hub.example.com/webhooks/shopify/shop",
            "customers": 1200,
            "orders": 310,
            "events": 0,
            "pending": 3,
            "quarantined": 0,
            "last_received_at": "2026-11-22T10:05:58Z",
            "last_received_from": "shopify",
            "import_saved_at": "2026-11-22T10:05:31Z",
        },
        {
            "name": "loyalty",
            "kind": "push",
            "state": "ok",
            "reason": None,
            "customers": 840,
            "orders": 0,
            "events": 2210,
            "pending": 0,
            "quarantined": 2,
            "last_received_at": "2026-11-22T09:41:00Z",
            "last_received_from": "push",
            "import_saved_at": None,
        },
        {
            "name": "outlet",
            "kind": "shopify",
            "state": "error",
            "reason": "store unreachable: connection refused",
            "checked_at": "2026-11-22T10:05:50Z",
            "customers": 0,
            "orders": 0,
            "events": 0,
            "pending": 0,
            "quarantined": 0,
            "last_received_at": None,
            "import_saved_at": None,
        },
    ]
}


def export_run(id: int, integration: int, state: str, **counts: Any) -> dict[str, Any]:
    return {
        "id": id,
        "integration": integration,
        "mode": "once",
        "state": state,
        "total": 60,
        "resent": 0,
        "sent": 0,
        "failed": 0,
        "in_doubt": 0,
        "ineligible": 0,
        "waiting": 0,
        "error": None,
        "started_at": "2026-11-22T10:00:00Z",
        "finished_at": None if state == "running" else "2026-11-22T10:01:00Z",
        **counts,
    }


ORDERS = {
    "integrations": [
        {
            "integration": 1,
            "provider": "omnisend",
            "store": "shop",
            "ledger": {"sent": 288, "in_doubt": 2, "failed": 1},
            "export": export_run(4, 1, "done", sent=57, in_doubt=2, failed=1),
            "problems": [
                {
                    "order": "o_1042",
                    "state": "failed",
                    "reason": "HTTP 422 from omnisend: product id missing",
                    "attempts": 3,
                    "at": "2026-11-22T10:00:40Z",
                },
                {
                    "order": "o_1043",
                    "state": "in_doubt",
                    "reason": "no answer in 10 s; retried with the same key",
                    "attempts": 1,
                    "at": "2026-11-22T10:00:41Z",
                },
            ],
        },
        {
            "integration": 2,
            "provider": "klaviyo",
            "store": "shop",
            "ledger": {"sent": 24, "queued": 36},
            "export": export_run(5, 2, "running", sent=24, waiting=36),
            "problems": [],
        },
        {
            "integration": 4,
            "provider": "omnisend",
            "store": "loyalty",
            "ledger": {},
            "export": None,
            "problems": [],
        },
    ]
}

FILTERED = {"role_address": 12, "invalid_email": 3, "opted_out": 0}
SYNCS = {
    "syncs": [
        {
            "id": 1,
            "integration": 1,
            "segment": "subscribers",
            "list": None,
            "mode": "active",
            "rules": {},
            "state": "active",
            "reason": None,
            "created_at": "2026-11-22T09:00:00Z",
            "running": False,
            "last_run": {
                "id": 7,
                "sync": 1,
                "state": "done",
                "full": False,
                "error": None,
                "started_at": "2026-11-22T10:00:00Z",
                "finished_at": "2026-11-22T10:00:09Z",
                "counts": {
                    "total": 1200,
                    "scanned": 1200,
                    "sent": 1180,
                    "failed": 0,
                    "unchanged": 5,
                    "filtered": FILTERED,
                },
            },
        },
        {
            "id": 2,
            "integration": 4,
            "segment": "all",
            "list": "VIP",
            "mode": "once",
            "rules": {},
            "state": "running",
            "reason": None,
            "created_at": "2026-11-22T10:04:00Z",
            "running": True,
            "last_run": {
                "id": 8,
                "sync": 2,
                "state": "running",
                "full": True,
                "error": None,
                "started_at": "2026-11-22T10:04:30Z",
                "finished_at": None,
                "counts": {
                    "total": 400,
                    "scanned": 150,
                    "sent": 140,
                    "failed": 2,
                    "unchanged": 0,
                    "filtered": {"role_address": 8},
                },
            },
        },
        {
            "id": 3,
            "integration": 3,
            "segment": "members",
            "list": None,
            "mode": "active",
            "rules": {},
            "state": "error",
            "reason": "integration 3 is in error",
            "created_at": "2026-11-22T09:30:00Z",
            "running": False,
            "last_run": None,
        },
    ]
}


def sync_run(
    id: int, sync: int, state: str, started: str, finished: str | None, **counts: Any
) -> dict[str, Any]:
    return {
        "id": id,
        "sync": sync,
        "state": state,
        "full": id == 1,
        "error": "destination refused the batch: 401 Unauthorized" if state == "failed" else None,
        "started_at": started,
        "finished_at": finished,
        "counts": {"filtered": {}, **counts},
    }


def sync_detail(sync: dict[str, Any], runs: list[Any], sent: int) -> dict[str, Any]:
    """GET /v1/syncs/ID: the listing's sync without last_run, its runs and failures."""
    detail = {k: v for k, v in sync.items() if k != "last_run"}
    return {**detail, "sent": sent, "runs": runs, "failures": copy.deepcopy(SYNC_FAILURES)}


SYNC_FAILURES = [
    {
        "customer": "c17",
        "email": "annabelle.longname@example.com",
        "reason": "HTTP 400 from omnisend: invalid property 'loyalty_points' (must be a number)",
        "attempts": 3,
        "at": "2026-11-22T10:00:08Z",
    },
    {
        "customer": "c42",
        "email": None,
        "reason": "HTTP 422 from omnisend: email is blocked",
        "attempts": 1,
        "at": "2026-11-22T09:40:02Z",
    },
]
SYNC_DETAILS = {
    1: sync_detail(
        {**SYNCS["syncs"][0], "rules": {"mapping": {"member.points": "points"}, "tags": ["vip"]}},
        [
            SYNCS["syncs"][0]["last_run"],
            sync_run(6, 1, "failed", "2026-11-22T09:40:00Z", "2026-11-22T09:40:03Z", scanned=40),
            sync_run(
                5,
                1,
                "done",
                "2026-11-22T09:00:00Z",
                "2026-11-22T09:21:30Z",
                total=1200,
                scanned=1200,
                sent=1150,
                failed=2,
                filtered=FILTERED,
            ),
        ],
        sent=1180,
    ),
    2: sync_detail(SYNCS["syncs"][1], [SYNCS["syncs"][1]["last_run"]], sent=140),
}

ROUTES = {
    "routes": [
        {
            "id": 1,
            "name": "Wallet coins awarded",
            "provider": "omnisend",
            "trigger": "loyalty.points_awarded",
            "stores": ["loyalty"],
            "enabled": True,
            "actions": ["track_event"],
            "last_hour": {"delivered": 41, "retrying": 1},
            "updated_at": "2026-11-22T09:00:00Z",
        },
        {
            "id": 2,
            "name": "Referral completed",
            "provider": "klaviyo",
            "trigger": "referral.completed",
            "stores": [],
            "enabled": False,
            "actions": ["track_event"],
            "last_hour": {},
            "updated_at": "2026-11-22T09:00:00Z",
        },
        {
            "id": 3,
            "name": "Coupon created for a very loyal member of the club",
            "provider": "omnisend",
            "trigger": "loyalty.coupon_created",
            "stores": ["loyalty"],
            "enabled": True,
            "actions": ["track_event"],
            "last_hour": {"dead": 2, "delivered": 5},
            "updated_at": "2026-11-22T09:00:00Z",
        },
    ]
}


def delivery(
    id: int,
    status: str,
    route: int,
    route_name: str,
    event_type: str,
    contact: str,
    attempts: int,
    last_error: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "route": route,
        "route_name": route_name,
        "integration": 4,
        "store": "loyalty",
        "event_type": event_type,
        "event_id": f"e{id}",
        "action": 0,
        "kind": "track_event",
        "contact": contact,
        "key": f"r{route}:loyalty:e{id}:0",
        "payload": {
            "email": contact,
            "name": event_type.replace(".", " "),
            "properties": {"points": 50},
        },
        "timeout": 10.0,
        "status": status,
        "attempts": attempts,
        "next_attempt_at": "2026-11-22T10:06:00Z",
        "last_error": last_error,
        "last_attempt_ms": 120,
        "created_at": "2026-11-22T10:00:00Z",
        "updated_at": "2026-11-22T10:01:00Z",
        "delivered_at": "2026-11-22T10:01:00Z" if status == "delivered" else None,
    }


DELIVERIES = {
    "deliveries": [
        delivery(
            44,
            "dead",
            3,
            "Coupon created for a very loyal member of the club",
            "loyalty.coupon_created",
            "annabelle.longname@example.com",
            5,
            "HTTP 400 from omnisend: invalid property 'code' (must be a string)",
        ),
        delivery(
            43,
            "retrying",
            1,
            "Wallet coins awarded",
            "loyalty.points_awarded",
            "bob@example.com",
            2,
            "HTTP 503 from omnisend: try again later",
        ),
        delivery(
            42,
            "pending",
            1,
            "Wallet coins awarded",
            "loyalty.points_awarded",
            "carol@example.com",
            0,
        ),
        delivery(
            41,
            "delivered",
            1,
            "Wallet coins awarded",
            "loyalty.points_awarded",
            "dave@example.com",
            1,
        ),
    ]
}


def deliveries(query: dict[str, Any]) -> dict[str, Any]:
    rows = DELIVERIES["deliveries"]
    return {
        "deliveries": [
            copy.deepcopy(d)
            for d in rows
            if query.get("status") in (None, d["status"])
            and query.get("route") in (None, d["route"])
        ]
    }


QUARANTINE = {
    "count": 2,
    "items": [
        {
            "id": 812,
            "store": "loyalty",
            "kind": "customers",
            "source": "ingest",
            "error": "created_at: 0001-01-01T00:00:00+01:00 is out of range",
            "received_at": "2026-11-22T10:00:00Z",
            "quarantined_at": "2026-11-22T10:00:01Z",
        },
        {
            "id": 790,
            "store": "shop",
            "kind": "orders",
            "source": "webhook",
            "error": "line_items[3].price: not a number: 'free'",
            "received_at": "2026-11-22T09:58:00Z",
            "quarantined_at": "2026-11-22T09:58:02Z",
        },
    ],
}


def audit(
    id: int, outcome: str, old: str | None, new: str | None, rule: str, reason: str
) -> dict[str, Any]:
    return {
        "id": id,
        "decided_at": f"2026-11-22T10:0{id}:00Z",
        "integration_id": 1,
        "store": "shop",
        "email": "quick@example.com",
        "customer_id": "q1",
        "source": "store",
        "rule": rule,
        "outcome": outcome,
        "old_state": old,
        "new_state": new,
        "reason": reason,
        "event_at": f"2026-11-22T10:0{id}:00Z",
    }


CONSENT = {
    "email": "quick@example.com",
    "stores": [
        {
            "store": "shop",
            "customer": "q1",
            "state": "unsubscribed",
            "at": "2026-11-22T10:05:00Z",
            "registered_at": "2026-11-22T10:00:00Z",
        }
    ],
    "integrations": [
        {
            "integration": 1,
            "provider": "omnisend",
            "store": "shop",
            "last_known": "subscribed",
            "last_known_at": None,
            "at_provider": "subscribed",
        }
    ],
}
HISTORY = {
    "email": "quick@example.com",
    "history": [
        audit(1, "applied", None, "subscribed", "newer_wins", "opt-in from the store"),
        audit(
            5,
            "suppressed",
            "subscribed",
            "unsubscribed",
            "opt_out_guard",
            "an opt-out 5m after registering is held back for review",
        ),
    ],
}
SUPPRESSED = {"suppressed": [HISTORY["history"][1]]}

LEVELS = ["info", "debug", "info", "warning", "info", "error", "info"]
EVENTS = [
    {
        "id": i + 1,
        "ts": f"2026-11-22T10:0{i}:00.000Z",
        "kind": "log",
        "level": level,
        "component": component,
        "message": message,
        "fields": fields,
    }
    for i, (level, (component, message, fields)) in enumerate(
        zip(
            LEVELS,
            [
                ("daemon", "patchbayd ready", {"listen": "127.0.0.1:8080"}),
                ("stores", "store polled", {"store": "shop", "customers": 1200}),
                ("sync", "sync run finished", {"sync": 1, "run": 7, "sent": 1180, "failed": 0}),
                (
                    "integrations",
                    "integration state changed",
                    {"integration": 3, "state": "error", "reason": "API key revoked"},
                ),
                ("outbox", "delivery sent", {"delivery": 41, "route": 1, "ms": 120}),
                ("outbox", "delivery dead", {"delivery": 44, "route": 3, "status": 400}),
                ("inbox", "row quarantined", {"inbox": 812, "store": "loyalty"}),
            ],
            strict=True,
        )
    )
]


def installation() -> dict[str, Answer]:
    """The answers of a daemon with a bit of everything: an integration in error, a sync
    running, a dead delivery, quarantined rows."""
    return {
        "GET /v1/status": STATUS,
        "GET /v1/stores": STORES,
        "GET /v1/orders": ORDERS,
        "GET /v1/providers": PROVIDERS,
        "GET /v1/integrations": INTEGRATIONS,
        "GET /v1/integrations/3": INTEGRATION_3,
        "GET /v1/syncs": SYNCS,
        **{f"GET /v1/syncs/{i}": detail for i, detail in SYNC_DETAILS.items()},
        "GET /v1/routes": ROUTES,
        "GET /v1/deliveries": deliveries,
        "GET /v1/inbox/quarantined": QUARANTINE,
        "GET /v1/consent/quick@example.com": CONSENT,
        "GET /v1/consent/quick@example.com/history": HISTORY,
        "GET /v1/consent/suppressed": SUPPRESSED,
    }
