"""Consent reconciliation end to end: guard, order, callbacks, fetch-on-register."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from patchbayd.clock import isoformat
from tests.postgres import BACKENDS, database_for
from tests.support import Daemon, Sandbox, wait


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Every test here runs on SQLite and on PostgreSQL."""
    yield from database_for(request.param)


T0 = "2026-11-22T10:00:00Z"


def ingest(hub: Daemon, *items: dict[str, Any]) -> None:
    for item in items:  # one request each: the order they arrive in is the test's point
        httpx.post(
            hub.url("/ingest/demo/customers"),
            json=item,
            headers={"Authorization": "Bearer demo-token"},
        ).raise_for_status()


def person(email: str, state: str, at: str, created: str = T0) -> dict[str, Any]:
    return {
        "id": email.split("@")[0],
        "email": email,
        "created_at": created,
        "updated_at": at,
        "email_consent": {"state": state, "updated_at": at},
    }


def connect(
    hub: Daemon,
    sandbox: Sandbox,
    store: str,
    provider: str = "omnisend",
    key: str = "sandbox-k",
    *extra: str,
) -> dict[str, Any]:
    made = json.loads(hub.connect(sandbox.url, provider, *extra, store=store, key=key).stdout)
    return dict(hub.api(f"/v1/integrations/{made['id']}"))


def omnisend_status(sandbox: Sandbox, email: str) -> str | None:
    for contact in sandbox.state("omnisend")["contacts"]:
        if contact["email"] == email:
            return str(contact["identifiers"][0]["channels"]["email"]["status"])
    return None


def history(hub: Daemon, email: str) -> list[dict[str, Any]]:
    return list(hub.api(f"/v1/consent/{email}/history")["history"])


def outcomes(hub: Daemon, email: str) -> list[tuple[str, str]]:
    return [(h["rule"], h["outcome"]) for h in history(hub, email)]


def test_the_opt_out_guard_holds_back_early_opt_outs_and_sends_later_ones(
    hub: Daemon, sandbox: Sandbox
) -> None:
    connect(hub, sandbox, "demo")
    ingest(
        hub,
        person("early@example.com", "subscribed", T0),
        person("late@example.com", "subscribed", T0),
    )
    wait(lambda: omnisend_status(sandbox, "late@example.com") == "subscribed")
    ingest(
        hub,
        person("early@example.com", "unsubscribed", "2026-11-22T10:14:59Z"),
        person("late@example.com", "unsubscribed", "2026-11-22T10:15:00Z"),
    )
    wait(lambda: omnisend_status(sandbox, "late@example.com") == "unsubscribed")
    wait(lambda: ("opt_out_guard", "suppressed") in outcomes(hub, "early@example.com"))
    assert omnisend_status(sandbox, "early@example.com") == "subscribed"
    held = hub.cli("consent", "suppressed").stdout
    assert "early@example.com" in held and "14:59 after registration" in held
    assert "late@example.com" not in held
    trail = hub.cli("consent", "history", "late@example.com").stdout
    assert "opt_in" in trail and "subscribed -> unsubscribed applied" in trail


def test_changes_reach_the_provider_in_event_time_order(hub: Daemon, sandbox: Sandbox) -> None:
    connect(hub, sandbox, "demo")
    ingest(hub, person("ooo@example.com", "subscribed", T0))
    wait(lambda: omnisend_status(sandbox, "ooo@example.com") == "subscribed")
    # The later change arrives first, the earlier one after it.
    ingest(
        hub,
        person("ooo@example.com", "unsubscribed", "2026-11-22T10:30:00Z"),
        person("ooo@example.com", "subscribed", "2026-11-22T10:20:00Z"),
    )
    # Decided in event-time order: the older change is recorded and changes nothing
    # (stale when it is decided after the newer one, duplicate when before it).
    wait(
        lambda: any(
            h["event_at"] == "2026-11-22T10:20:00.000Z" and h["outcome"] in ("stale", "duplicate")
            for h in history(hub, "ooo@example.com")
        )
    )
    wait(lambda: omnisend_status(sandbox, "ooo@example.com") == "unsubscribed")
    assert [
        (h["new_state"], h["outcome"])
        for h in history(hub, "ooo@example.com")
        if h["outcome"] == "applied"
    ] == [("subscribed", "applied"), ("unsubscribed", "applied")]
    stored = hub.api("/v1/stores/demo/customers?email=ooo@example.com")["customers"][0]
    assert stored["email_consent"] == "unsubscribed"


def test_provider_callbacks_update_a_push_store_once(hub: Daemon, sandbox: Sandbox) -> None:
    integration = connect(hub, sandbox, "demo")
    ingest(hub, person("cb@example.com", "subscribed", T0))
    wait(lambda: omnisend_status(sandbox, "cb@example.com") == "subscribed")
    callbacks = integration["callbacks"]
    shown = hub.cli("integrations", "show", str(integration["id"])).stdout
    assert callbacks["opt_out"] in shown
    sandbox.post(
        "/_sandbox/omnisend/callbacks",
        {"opt_in": callbacks["opt_in"], "opt_out": callbacks["opt_out"], "method": "POST"},
    )
    for _ in range(2):  # the second one is a repeat
        answer = sandbox.post(
            "/_sandbox/omnisend/consent",
            {"email": "cb@example.com", "state": "unsubscribed", "at": "2026-11-22T11:00:00Z"},
        )
        assert [c["status"] for c in answer["callbacks"]] == [200]
    wait(
        lambda: (
            hub.api("/v1/stores/demo/customers?email=cb@example.com")["customers"][0][
                "email_consent"
            ]
            == "unsubscribed"
        )
    )
    wait(lambda: ("provider_callback", "duplicate") in outcomes(hub, "cb@example.com"))
    assert outcomes(hub, "cb@example.com").count(("provider_callback", "applied")) == 1
    older = sandbox.post(
        "/_sandbox/omnisend/consent",
        {"email": "cb@example.com", "state": "subscribed", "at": "2026-11-22T10:30:00Z"},
    )
    assert [c["status"] for c in older["callbacks"]] == [200]
    wait(lambda: ("provider_callback", "stale") in outcomes(hub, "cb@example.com"))
    stored = hub.api("/v1/stores/demo/customers?email=cb@example.com")["customers"][0]
    assert stored["email_consent"] == "unsubscribed"
    shown = hub.cli("consent", "show", "cb@example.com").stdout
    assert "store demo" in shown and "unsubscribed" in shown


def test_forged_tokens_and_bad_salesmanago_keys_change_nothing(
    hub: Daemon, sandbox: Sandbox
) -> None:
    integration = connect(
        hub,
        sandbox,
        "demo",
        "salesmanago",
        "sandbox-secret",
        "--client-id",
        "c1",
        "--owner",
        "owner@example.com",
    )
    ingest(hub, person("sm@example.com", "subscribed", T0))
    opt_out = integration["callbacks"]["opt_out"]
    assert "&key=$key$" in opt_out
    forged = opt_out.replace(opt_out.split("/callbacks/")[1].split("/")[0], "forged-token")
    email = "sm@example.com"
    good_key = hashlib.sha1((email + "sandbox-secret").encode()).hexdigest()
    cases = [
        (forged.replace("$email$", email).replace("$key$", good_key), 404),
        (opt_out.replace("$email$", email).replace("$key$", "0" * 40), 401),
        (opt_out.replace("$email$", email).replace("&key=$key$", ""), 401),
        (opt_out.replace("$email$", "").replace("$key$", good_key), 400),
    ]
    for url, status in cases:
        assert httpx.get(url).status_code == status, url
    # Each was counted as refused, and a refusal commits nothing (the checks come first).
    assert rejected(hub, "/callbacks/{token}/{direction}") == {
        "unknown_target": 1,
        "bad_signature": 2,
        "malformed": 1,
    }
    before = isoformat(datetime.now(UTC))
    sandbox.post(
        "/_sandbox/salesmanago/callbacks", {"opt_out": opt_out, "secret": "sandbox-secret"}
    )
    answer = sandbox.post(
        "/_sandbox/salesmanago/consent", {"email": email, "state": "unsubscribed"}
    )
    assert [c["status"] for c in answer["callbacks"]] == [200]
    # Wait for the real opt-out's decision (dated by its receipt). Events are decided in
    # time order, so a forged one committed earlier would be decided before it: the only
    # callback decision must be the real one, applied (not a duplicate of a forged one).
    wait(
        lambda: any(
            h["source"] == "provider" and (h["event_at"] or "") >= before
            for h in history(hub, email)
        )
    )
    assert [o for o in outcomes(hub, email) if o[0] == "provider_callback"] == [
        ("provider_callback", "applied")
    ]
    wait(
        lambda: (
            hub.api(f"/v1/stores/demo/customers?email={email}")["customers"][0]["email_consent"]
            == "unsubscribed"
        )
    )


def rejected(hub: Daemon, route: str) -> dict[str, int]:
    """Refusals by reason for one public route, from /metrics."""
    found: dict[str, int] = {}
    for line in httpx.get(hub.url("/metrics")).text.splitlines():
        match = re.fullmatch(r"patchbay_rejected_requests_total\{(.*)\} ([0-9.e+]+)", line)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))) if match else {}
        if match and labels.get("route") == route:
            found[labels["reason"]] = int(float(match.group(2)))
    return found


def shop_customer(sandbox: Sandbox, email: str) -> dict[str, Any]:
    customers = sandbox.state("shopify")["shops"]["patchbay-demo"]["customers"]
    return next(c for c in customers if c["email"] == email)


def test_fetch_on_register_and_provider_unsubscribe_reach_shopify(
    hub: Daemon, sandbox: Sandbox
) -> None:
    wait(
        lambda: (
            next(s for s in hub.api("/v1/status")["stores"] if s["name"] == "shop")["state"] == "ok"
        )
    )
    integration = connect(hub, sandbox, "shop")
    # Known and opted in at the provider before registering in the shop.
    sandbox.post("/_sandbox/omnisend/consent", {"email": "fan@example.com", "state": "subscribed"})
    started = time.monotonic()
    sandbox.post(
        "/_sandbox/shopify/patchbay-demo/customers",
        {"email": "fan@example.com", "first_name": "Fan"},
    )
    wait(
        lambda: (
            shop_customer(sandbox, "fan@example.com")["email_marketing_consent"]["state"]
            == "subscribed"
        )
    )
    print(f"fetch-on-register to Shopify write-back: {time.monotonic() - started:.2f} s")
    assert ("fetch_on_register", "applied") in outcomes(hub, "fan@example.com")
    # A stranger registering without consent stays as they are.
    sandbox.post("/_sandbox/shopify/patchbay-demo/customers", {"email": "new@example.com"})
    wait(lambda: ("fetch_on_register", "ignored") in outcomes(hub, "new@example.com"))
    assert (
        shop_customer(sandbox, "new@example.com")["email_marketing_consent"]["state"]
        == "not_subscribed"
    )
    # Unsubscribing at the provider reaches the shop through the callback.
    callbacks = integration["callbacks"]
    sandbox.post(
        "/_sandbox/omnisend/callbacks",
        {"opt_in": callbacks["opt_in"], "opt_out": callbacks["opt_out"]},
    )
    started = time.monotonic()
    sandbox.post(
        "/_sandbox/omnisend/consent", {"email": "fan@example.com", "state": "unsubscribed"}
    )
    wait(
        lambda: (
            shop_customer(sandbox, "fan@example.com")["email_marketing_consent"]["state"]
            == "unsubscribed"
        )
    )
    print(f"provider callback to Shopify write-back: {time.monotonic() - started:.2f} s")


def test_a_per_integration_guard_and_fetch_on_register_off(hub: Daemon, sandbox: Sandbox) -> None:
    connect(
        hub,
        sandbox,
        "demo",
        "omnisend",
        "sandbox-k",
        "--opt-out-guard",
        "5m",
        "--fetch-on-register",
        "off",
    )
    ingest(
        hub,
        person("five@example.com", "subscribed", T0),
        person("quiet@example.com", "not_subscribed", T0),
    )
    wait(lambda: omnisend_status(sandbox, "five@example.com") == "subscribed")
    ingest(hub, person("five@example.com", "unsubscribed", "2026-11-22T10:06:00Z"))
    wait(lambda: omnisend_status(sandbox, "five@example.com") == "unsubscribed")
    wait(lambda: ("fetch_on_register", "ignored") in outcomes(hub, "quiet@example.com"))
    assert "fetch_on_register is off" in hub.cli("consent", "history", "quiet@example.com").stdout
    bad = hub.cli(
        "integrations",
        "connect",
        "klaviyo",
        "--store",
        "demo",
        "--api-key-env",
        "K",
        "--opt-out-guard",
        "soon",
        check=False,
        env_extra={"K": "sandbox-k"},
    )
    assert bad.returncode == 1 and "opt_out_guard" in bad.stderr


def test_an_older_update_arriving_late_sends_nothing(hub: Daemon, sandbox: Sandbox) -> None:
    connect(hub, sandbox, "demo")
    late = person("late2@example.com", "unsubscribed", "2026-11-22T10:05:00Z")
    ingest(hub, late)  # the newer one first: a registration (opted out within the guard)
    wait(lambda: bool(history(hub, "late2@example.com")))
    ingest(hub, person("late2@example.com", "subscribed", T0))  # older, arrives late
    wait(lambda: ("store_change", "stale") in outcomes(hub, "late2@example.com"))
    assert omnisend_status(sandbox, "late2@example.com") is None  # no opt-in sent


def test_a_provider_that_is_down_does_not_hold_up_other_consent_changes(
    hub: Daemon, sandbox: Sandbox
) -> None:
    wait(
        lambda: (
            next(s for s in hub.api("/v1/status")["stores"] if s["name"] == "shop")["state"] == "ok"
        )
    )
    omnisend = connect(hub, sandbox, "demo", "omnisend", "sandbox-k", "--rate-limit", "none")
    shop = connect(hub, sandbox, "shop", "klaviyo", "sandbox-k")
    sandbox.faults("omnisend", down=True)
    httpx.post(
        hub.url("/ingest/demo/customers"),
        headers={"Authorization": "Bearer demo-token"},
        json={"items": [person(f"p{i}@example.com", "subscribed", T0) for i in range(250)]},
    ).raise_for_status()
    # 250 older changes wait for Omnisend; a newer one for Klaviyo must not wait behind them.
    sandbox.post(
        "/_sandbox/shopify/patchbay-demo/customers",
        {
            "email": "fresh@example.com",
            "email_marketing_consent": {
                "state": "subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": "2026-11-22T12:00:00Z",
            },
        },
    )
    wait(
        lambda: any(
            h["integration_id"] == shop["id"]  # decided, however it came out
            for h in history(hub, "fresh@example.com")
        ),
        timeout=25,
    )
    assert omnisend_status(sandbox, "p0@example.com") is None  # still waiting, not lost

    def waiting() -> int:  # in the outbox, retried, not lost
        listed = hub.api(f"/v1/deliveries?route=0&integration={omnisend['id']}&limit=1000")
        return len([d for d in listed["deliveries"] if d["status"] in ("pending", "retrying")])

    wait(lambda: waiting() == 250)


def test_an_address_a_sync_would_filter_is_never_sent(hub: Daemon, sandbox: Sandbox) -> None:
    connect(hub, sandbox, "demo", "omnisend", "sandbox-k", "--rate-limit", "none")
    ingest(
        hub,
        person("info@example.com", "subscribed", T0),
        person("fine@example.com", "subscribed", T0),
    )
    wait(lambda: omnisend_status(sandbox, "fine@example.com") == "subscribed")
    wait(lambda: ("eligibility", "ignored") in outcomes(hub, "info@example.com"))
    assert omnisend_status(sandbox, "info@example.com") is None
    assert "role address" in history(hub, "info@example.com")[0]["reason"]
    sent = hub.api("/v1/deliveries?route=0")["deliveries"]
    assert [d["contact"] for d in sent] == ["fine@example.com"]


def test_opt_ins_an_active_sync_carries_are_not_sent_one_by_one(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """A bulk import of new subscribers: before, one consent request per person against
    the provider's limit; now the active sync's batches carry them."""
    omnisend = connect(hub, sandbox, "demo", "omnisend", "sandbox-k", "--rate-limit", "none")
    made = hub.cli(
        "sync",
        "create",
        str(omnisend["id"]),
        "--segment",
        "subscribers",
        "--mode",
        "active",
        "--json",
    )
    sync_id = json.loads(made.stdout)["id"]
    httpx.post(
        hub.url("/ingest/demo/customers"),
        headers={"Authorization": "Bearer demo-token"},
        json={"items": [person(f"bulk{i}@example.com", "subscribed", T0) for i in range(300)]},
    ).raise_for_status()
    wait(
        lambda: all(
            omnisend_status(sandbox, f"bulk{i}@example.com") == "subscribed" for i in (0, 150, 299)
        ),
        timeout=30,
    )
    wait(lambda: len(hub.api("/v1/consent/bulk299@example.com/history")["history"]) > 0)
    reasons = [h["reason"] for h in history(hub, "bulk7@example.com")]
    assert any(f"carried by sync {sync_id}" in r for r in reasons), reasons
    requests = sandbox.state("omnisend")["requests"]
    assert requests.get("POST /v3/contacts", 0) == 0  # no single writes at all
    assert hub.api("/v1/deliveries?route=0")["deliveries"] == []


def test_a_consent_change_that_dies_shows_in_the_history_and_the_dead_letters(
    hub: Daemon, sandbox: Sandbox
) -> None:
    connect(hub, sandbox, "demo", "omnisend", "sandbox-k", "--rate-limit", "none")
    sandbox.faults("omnisend", error_rate=1.0, error_status=422)
    ingest(hub, person("dies@example.com", "subscribed", T0))
    wait(lambda: ("delivery", "failed") in outcomes(hub, "dies@example.com"))
    failed = next(h for h in history(hub, "dies@example.com") if h["rule"] == "delivery")
    assert "dead after 1 attempts" in failed["reason"] and "HTTP 422" in failed["reason"]
    shown = hub.cli("consent", "history", "dies@example.com").stdout
    assert "failed" in shown and "deliveries replay" in shown
    [dead] = hub.api("/v1/deliveries?status=dead")["deliveries"]
    assert dead["kind"] == "set_consent" and dead["payload"]["state"] == "subscribed"
    sandbox.faults("omnisend", error_rate=0.0)
    hub.cli("deliveries", "replay", str(dead["id"]))
    wait(lambda: omnisend_status(sandbox, "dies@example.com") == "subscribed")


def test_an_opt_in_with_no_list_to_hold_it_is_noted_not_sent(hub: Daemon, sandbox: Sandbox) -> None:
    connect(hub, sandbox, "demo", "klaviyo", "sandbox-k")  # no sync, so no list
    ingest(hub, person("nolist@example.com", "subscribed", T0))
    wait(lambda: bool(history(hub, "nolist@example.com")))
    [entry] = history(hub, "nolist@example.com")
    assert "keeps opt-ins per list" in entry["reason"]
    assert hub.api("/v1/deliveries?route=0")["deliveries"] == []


def test_opt_ins_with_no_list_are_each_audited_but_logged_once(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """Before, every opted-in customer of such an integration was a log line of its own:
    hundreds in minutes. Each is still in the audit; the log says it once, then counts."""
    connect(hub, sandbox, "demo", "klaviyo", "sandbox-k")  # no sync, so no list
    emails = [f"nolist{i}@example.com" for i in range(5)]
    ingest(hub, *(person(email, "subscribed", T0) for email in emails))
    wait(lambda: all(history(hub, email) for email in emails))
    for email in emails:
        [entry] = history(hub, email)
        assert "keeps opt-ins per list" in entry["reason"]
    # The last decision's own line (debug) is out: the engine is past every one of them.
    wait(lambda: f"consent decision email={emails[-1]}" in hub.stderr())
    shown = [line for line in hub.stderr().splitlines() if " DEBUG " not in line]
    assert [line for line in shown if "nolist" in line] == []
    [report] = [line for line in shown if "opt-ins not sent" in line]
    assert " INFO " in report and "integration=1" in report and "provider=klaviyo" in report
    assert hub.api("/v1/deliveries?route=0")["deliveries"] == []


def test_an_opt_in_is_sent_single_where_a_batch_would_not_set_it(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """Klaviyo's profile import leaves consent be, so an active sync cannot carry it."""
    klaviyo = connect(hub, sandbox, "demo", "klaviyo", "sandbox-k", "--rate-limit", "none")
    hub.cli(
        "sync",
        "create",
        str(klaviyo["id"]),
        "--segment",
        "subscribers",
        "--list",
        "LIST1",
        "--mode",
        "active",
    )
    ingest(hub, person("kl@example.com", "subscribed", T0))
    wait(lambda: bool(history(hub, "kl@example.com")))
    assert "carried by sync" not in history(hub, "kl@example.com")[0]["reason"]
    wait(
        lambda: (
            [d["contact"] for d in hub.api("/v1/deliveries?route=0")["deliveries"]]
            == ["kl@example.com"]
        )
    )


def test_a_slow_provider_does_not_slow_another_integrations_consent_and_orders(
    hub: Daemon, sandbox: Sandbox
) -> None:
    """A provider that takes 8 s per call (not one that is down: that answers at once)
    must not delay the consent decisions and orders of the store's other integrations.
    Registrations ask each provider for the contact's consent (fetch on register); those
    asks ran one event at a time for every integration, behind the slow one's timeouts."""
    slow = connect(hub, sandbox, "demo", "omnisend", "sandbox-k", "--rate-limit", "none")
    key = hub.directory / "webhook.key"
    key.write_text("sandbox-w")
    fast = json.loads(
        hub.cli(
            "integrations",
            "connect",
            "webhook",
            "--store",
            "demo",
            "--api-key-file",
            str(key),
            "--base-url",
            f"{sandbox.url}/webhook/fast",
            "--rate-limit",
            "none",
            "--json",
        ).stdout
    )
    for integration in (slow["id"], fast["id"]):
        hub.cli("orders", "export", str(integration), "--mode", "active")
    sandbox.faults("omnisend", latency_ms=8000)
    later = "2026-11-22T11:00:00Z"
    httpx.post(
        hub.url("/ingest/demo/customers"),
        headers={"Authorization": "Bearer demo-token"},
        json={"items": [person(f"s{i}@example.com", "unsubscribed", later) for i in range(10)]},
    ).raise_for_status()
    httpx.post(
        hub.url("/ingest/demo/orders"),
        headers={"Authorization": "Bearer demo-token"},
        json={
            "items": [
                {
                    "id": f"o{i}",
                    "customer_id": f"s{i}",
                    "email": f"s{i}@example.com",
                    "status": "paid",
                    "total": "9.50",
                    "currency": "EUR",
                    "created_at": later,
                }
                for i in range(5)
            ]
        },
    ).raise_for_status()

    def sent(integration: int) -> list[dict[str, Any]]:
        return [
            d
            for d in hub.api(f"/v1/deliveries?route=0&integration={integration}&limit=1000")[
                "deliveries"
            ]
            if d["status"] == "delivered"
        ]

    def decided(integration: int) -> set[str]:  # registrations: each asks the provider
        return {
            f"s{i}@example.com"
            for i in range(10)
            if any(
                h["integration_id"] == integration and h["outcome"] != "lookup"
                for h in history(hub, f"s{i}@example.com")
            )
        }

    wait(lambda: len(decided(fast["id"])) == 10 and len(sent(fast["id"])) == 5, timeout=30)
    # All of it went while the slow provider had not answered a single call.
    assert decided(slow["id"]) == set() and sent(slow["id"]) == []


def test_consent_show_asks_every_provider_at_once(hub: Daemon, sandbox: Sandbox) -> None:
    """Three providers that each take 0.9 s answer together in about 0.9 s, not 2.7 s:
    a client that waits 2 s gets every answer (asked one after another, it timed out)."""
    ingest(hub, person("slow@example.com", "subscribed", T0))
    wait(lambda: bool(hub.api("/v1/stores/demo/customers?email=slow@example.com")["customers"]))
    for provider in ("omnisend", "klaviyo", "benchmark"):
        connect(hub, sandbox, "demo", provider)
        sandbox.faults(provider, latency_ms=900)
    shown = hub.cli(
        "consent", "show", "slow@example.com", "--json", env_extra={"PATCHBAY_TIMEOUT": "2"}
    )
    answers = json.loads(shown.stdout)["integrations"]
    assert len(answers) == 3
    assert all(not a["at_provider"].startswith("unknown") for a in answers), answers
