"""Routes end to end: the real daemon, CLI and sandbox. Each shipped example imported as it
is and found at the sandbox; retries, dead letters and replay; order per contact; one
provider down while another goes on; store scope; SIGKILL mid-burst; export/import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from patchbayd.providers.http import encode_json
from patchbayd.providers.webhook import signature
from tests.support import Daemon, Sandbox, sandbox_config, wait

EXAMPLES = resources.files("patchbayd.route_examples")
OTHER_STORE = '\n[stores.other]\nkind = "push"\ningest_token = "other-token"\n'
FAST_RETRIES = 'provider_timeout = "2s"\ndelivery_retry_base = "50ms"\ndelivery_retry_cap = "200ms"'


@pytest.fixture
def routed(workdir: Path, sandbox: Sandbox) -> Iterator[Daemon]:
    d = Daemon(
        workdir, config_text=sandbox_config(sandbox.url, extra=OTHER_STORE, daemon=FAST_RETRIES)
    )
    d.start()
    yield d
    d.kill()


def connect(
    hub: Daemon, sandbox: Sandbox, provider: str, *extra: str, base: str | None = None
) -> int:
    key = "sandbox-secret" if provider == "salesmanago" else "sandbox-k-us21"
    result = hub.connect(
        sandbox.url, provider, "--rate-limit", "none", *extra, key=key, base_url=base
    )
    return int(json.loads(result.stdout)["id"])


def import_file(hub: Daemon, path: Path | Any, *extra: str) -> list[int]:
    out = hub.cli("routes", "import", str(path), *extra, "--json")
    return list(json.loads(out.stdout)["imported"])


def import_text(hub: Daemon, text: str, name: str = "route.toml") -> list[int]:
    path = hub.directory / name
    path.write_text(text)
    return import_file(hub, path)


def ingest(
    hub: Daemon, kind: str, body: Any, store: str = "demo", token: str = "demo-token"
) -> None:
    answer = httpx.post(
        hub.url(f"/ingest/{store}/{kind}"),
        json=body,
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 202, answer.text


def event(
    i: int | str,
    kind: str,
    data: dict[str, Any],
    email: str = "ann@example.com",
    customer: str = "c1",
) -> dict[str, Any]:
    return {
        "id": f"e{i}",
        "type": kind,
        "occurred_at": "2026-11-22T10:00:00Z",
        "customer": {"id": customer, "email": email},
        "data": data,
    }


def deliveries(hub: Daemon, **query: Any) -> list[dict[str, Any]]:
    """Route deliveries (not the consent changes the daemon sends through the outbox)."""
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return [
        d for d in hub.api(f"/v1/deliveries?limit=1000&{params}")["deliveries"] if d["route"] != 0
    ]


def omnisend_events(sandbox: Sandbox) -> list[dict[str, Any]]:
    return list(sandbox.state("omnisend")["events"])


ROUTE = """
[[route]]
name = "{name}"
provider = "{provider}"
trigger = "{trigger}"
{extra}
[[route.actions]]
type = "track_event"
name = "{{{{ event.type }}}}"
[route.actions.properties]
n = "{{{{ data.n }}}}"
"""


def route(
    name: str = "R", provider: str = "omnisend", trigger: str = "custom.ping", extra: str = ""
) -> str:
    return ROUTE.format(name=name, provider=provider, trigger=trigger, extra=extra)


def test_every_shipped_example_delivers_to_the_sandbox(routed: Daemon, sandbox: Sandbox) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    connect(hub, sandbox, "klaviyo")
    connect(hub, sandbox, "mailchimp", base=f"{sandbox.url}/mailchimp/3.0")
    webhook = connect(hub, sandbox, "webhook", base=f"{sandbox.url}/webhook/orders")
    for example in (
        "wallet_coins_awarded",
        "coupon_created",
        "referral_completed",
        "points_expiring",
        "big_order_webhook",
        "one_star_review",
    ):
        assert len(import_file(hub, EXAMPLES / f"{example}.toml")) == 1
    ingest(
        hub,
        "customers",
        {
            "id": "c1",
            "email": "ann@example.com",
            "first_name": "Ann",
            "email_consent": {"state": "subscribed"},
        },
    )
    ingest(
        hub,
        "events",
        {
            "items": [
                event(1, "loyalty.points_awarded", {"points": 50, "balance": 170}),
                event(2, "loyalty.coupon_created", {"code": "WELCOME10", "value": "10%"}),
                event(
                    3,
                    "referral.completed",
                    {"referred_email": "bob@example.com", "reward_points": 100},
                ),
                event(4, "loyalty.points_expiring", {"points": 30, "days_left": 5}),
                event(5, "loyalty.points_expiring", {"points": 30, "days_left": 20}),  # too far off
                event(6, "review.created", {"rating": 1, "title": "Cold tea, late, wrong box"}),
                event(7, "review.created", {"rating": 5, "title": "Lovely"}),  # not one star
            ]
        },
    )
    ingest(
        hub,
        "orders",
        [
            {
                "id": "o1",
                "customer_id": "c1",
                "email": "ann@example.com",
                "status": "paid",
                "total": "150.00",
                "currency": "EUR",
                "items": [
                    {"sku": "GREEN TEA 1", "name": "Tea, green", "quantity": 1, "price": "150.00"}
                ],
            },
            {
                "id": "o2",
                "customer_id": "c1",
                "email": "ann@example.com",
                "status": "paid",
                "total": "20.00",
                "currency": "EUR",
            },
        ][0],
    )
    wait(lambda: len(deliveries(hub, status="delivered")) == 6)
    by_name = {e["eventName"]: e for e in omnisend_events(sandbox)}
    assert by_name["wallet coins awarded"]["properties"]["points"] == 50
    assert by_name["wallet coins awarded"]["properties"]["balance"] == 170
    assert by_name["coupon created"]["properties"]["code"] == "WELCOME10"
    assert by_name["loyalty: points_expiring"]["properties"]["days_left"] == 5
    assert len(by_name) == 3  # the points expiring in 20 days were not sent
    [referral] = sandbox.state("klaviyo")["events"]
    assert referral["metric"] == "Referral Completed"
    assert referral["properties"]["reward_points"] == 100
    [received] = [
        r for r in sandbox.state("webhook")["received"] if r["body"].get("order")
    ]  # not the connect check, nor consent changes
    body = received["body"]
    assert body["products"] == "Tea green" and body["skus"].strip() == "GREEN-TEA-1"
    assert body["order"] == "o1" and body["customer"] == "ann@example.com"
    headers = received["headers"]
    secret = "sandbox-k-us21"
    assert headers["x-patchbay-signature"] == signature(
        secret, headers["x-patchbay-timestamp"], encode_json(body, "w")
    )
    assert headers["x-patchbay-idempotency-key"].endswith(":order.paid:demo:o1:0")
    members = sandbox.state("mailchimp")["lists"]["list1"]["members"]
    assert [m["email_address"] for m in members] == ["ann@example.com"]
    assert webhook > 0
    metrics = httpx.get(hub.url("/metrics")).text
    assert (
        'patchbay_deliveries_total{integration="1",outcome="delivered",'
        'route="Wallet coins awarded"} 1.0' in metrics
    )
    assert "patchbay_delivery_attempt_seconds_bucket" in metrics
    assert "patchbay_outbox_depth 0.0" in metrics and "patchbay_outbox_oldest_seconds" in metrics
    assert "outbox:" in hub.cli("status").stdout


def test_a_timeout_is_retried_then_dead_then_replayed(routed: Daemon, sandbox: Sandbox) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    import_text(hub, route(extra='timeout = "300ms"'))
    sandbox.faults("omnisend", latency_ms=600)
    ingest(hub, "events", event(1, "custom.ping", {"n": 1}))
    wait(lambda: [d["status"] for d in deliveries(hub)] == ["dead"], timeout=30)
    [dead] = deliveries(hub)
    assert dead["attempts"] == 6 and "within 0.3 s" in dead["last_error"]
    shown = hub.cli("deliveries", "show", str(dead["id"])).stdout
    assert "dead" in shown and "within 0.3 s" in shown and '"n": 1' in shown
    sandbox.faults("omnisend", latency_ms=0)
    assert "replayed 1" in hub.cli("deliveries", "replay", str(dead["id"])).stdout
    wait(lambda: [d["status"] for d in deliveries(hub)] == ["delivered"])
    # The timed-out attempts may have landed too: the event id keeps it one event there.
    assert [e["eventName"] for e in omnisend_events(sandbox)] == ["custom.ping"]


def test_a_permanent_refusal_is_dead_at_once_with_the_providers_words(
    routed: Daemon, sandbox: Sandbox
) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    import_text(hub, route())
    sandbox.faults("omnisend", error_rate=1.0, error_status=400)
    ingest(hub, "events", event(1, "custom.ping", {"n": 1}))
    wait(lambda: [d["status"] for d in deliveries(hub)] == ["dead"])
    [dead] = deliveries(hub)
    assert dead["attempts"] == 1 and "HTTP 400" in dead["last_error"]
    listed = hub.cli("deliveries", "list", "--status", "dead").stdout
    assert "dead" in listed and "HTTP 400" in listed
    sandbox.faults("omnisend", error_rate=0.0)
    assert "replayed 1" in hub.cli("deliveries", "replay", "--dead").stdout
    wait(lambda: [d["status"] for d in deliveries(hub)] == ["delivered"])


# Retries slow enough that a loaded machine cannot use up all five (and kill the
# deliveries) between the test seeing two attempts and the provider coming back.
PATIENT_RETRIES = 'provider_timeout = "2s"\ndelivery_retry_base = "1s"\ndelivery_retry_cap = "2s"'


@pytest.fixture
def patient(workdir: Path, sandbox: Sandbox) -> Iterator[Daemon]:
    d = Daemon(workdir, config_text=sandbox_config(sandbox.url, daemon=PATIENT_RETRIES))
    d.start()
    yield d
    d.kill()


def test_order_per_contact_is_kept_while_an_earlier_delivery_retries(
    patient: Daemon, sandbox: Sandbox
) -> None:
    hub = patient
    connect(hub, sandbox, "omnisend")
    import_text(hub, route())
    sandbox.faults("omnisend", down=True)
    ingest(
        hub,
        "events",
        {
            "items": [
                event(1, "custom.ping", {"n": 1}),
                event(2, "custom.ping", {"n": 2}),
                event(3, "custom.ping", {"n": 3}, "bob@example.com", "c2"),
            ]
        },
    )

    # Each contact's first delivery retried at least once (jittered: one may lead).
    def retried(event_id: str) -> bool:
        return any(d["event_id"] == event_id and d["attempts"] >= 2 for d in deliveries(hub))

    wait(lambda: retried("demo:e1") and retried("demo:e3"))
    by_event = {d["event_id"]: d for d in deliveries(hub)}
    assert by_event["demo:e2"]["attempts"] == 0  # waits behind ann's first: never tried
    sandbox.faults("omnisend", down=False)
    wait(lambda: {d["status"] for d in deliveries(hub)} == {"delivered"}, timeout=30)
    anns = [
        e["properties"]["n"]
        for e in omnisend_events(sandbox)
        if e["contact"]["email"] == "ann@example.com"
    ]
    assert anns == [1, 2]


def test_a_provider_that_is_down_does_not_hold_up_another(routed: Daemon, sandbox: Sandbox) -> None:
    hub = routed
    omnisend = connect(hub, sandbox, "omnisend")
    klaviyo = connect(hub, sandbox, "klaviyo")
    import_text(hub, route("to omnisend") + route("to klaviyo", "klaviyo"))
    sandbox.faults("omnisend", latency_ms=1900)  # every attempt takes its whole time
    ingest(
        hub,
        "events",
        {
            "items": [
                event(i, "custom.ping", {"n": i}, f"p{i}@example.com", f"c{i}") for i in range(40)
            ]
        },
    )
    wait(lambda: len(deliveries(hub, integration=klaviyo, status="delivered")) == 40, timeout=15)
    assert len(deliveries(hub, integration=omnisend, status="delivered")) < 40


def test_a_route_runs_only_where_its_provider_is_installed(
    routed: Daemon, sandbox: Sandbox
) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")  # installed in demo only
    refused = hub.cli("routes", "import", "-", check=False, env_extra={})
    assert refused.returncode != 0
    path = hub.directory / "scoped.toml"
    path.write_text(route(extra='stores = ["other"]'))
    bad = hub.cli("routes", "import", str(path), check=False)
    assert bad.returncode == 1 and "omnisend is not installed in store 'other'" in bad.stderr
    import_text(hub, route())
    ingest(hub, "events", event(1, "custom.ping", {"n": 1}), store="other", token="other-token")
    ingest(hub, "events", event(2, "custom.ping", {"n": 2}))
    wait(lambda: len(deliveries(hub, status="delivered")) == 1)
    assert [d["store"] for d in deliveries(hub)] == ["demo"]


def test_deliveries_cut_off_by_sigkill_are_sent_once_after_restart(
    routed: Daemon, sandbox: Sandbox
) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    import_text(hub, route())
    sandbox.faults("omnisend", latency_ms=30)
    ingest(
        hub,
        "events",
        {
            "items": [
                event(i, "custom.ping", {"n": i}, f"p{i}@example.com", f"c{i}") for i in range(150)
            ]
        },
    )
    wait(lambda: len(omnisend_events(sandbox)) >= 10)
    hub.kill()
    assert len(omnisend_events(sandbox)) < 150
    sandbox.faults("omnisend", latency_ms=0)
    hub.start()
    wait(lambda: len(deliveries(hub, status="delivered")) == 150, timeout=30)
    ids = [e["eventID"] for e in omnisend_events(sandbox)]
    assert len(ids) == len(set(ids)) == 150  # each event exactly once at the provider


def test_export_import_round_trip_and_a_bad_template_refused(
    routed: Daemon, sandbox: Sandbox
) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    [route_id] = import_file(hub, EXAMPLES / "points_expiring.toml")
    before = hub.api(f"/v1/routes/{route_id}")["definition"]
    out = hub.directory / "exported.toml"
    hub.cli("routes", "export", str(route_id), "-o", str(out))
    hub.cli("routes", "delete", str(route_id), "--yes")
    [again] = import_file(hub, out)
    assert hub.api(f"/v1/routes/{again}")["definition"] == before
    hub.cli("routes", "disable", str(again))
    assert "enabled = false" in hub.cli("routes", "export", str(again)).stdout
    kept = json.loads(hub.cli("routes", "import", str(out), "--json").stdout)
    assert kept == {"imported": [], "kept": ["Points expiring soon"]}
    bad = hub.directory / "bad.toml"
    bad.write_text(route(name="Broken").replace("{{ data.n }}", "{{ data.n | frobnicate }}"))
    result = hub.cli("routes", "import", str(bad), check=False)
    assert result.returncode == 1
    assert (
        "bad.toml: route 'Broken': actions[0]: properties.n: unknown filter 'frobnicate'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    listed = hub.cli("routes", "list").stdout
    assert "Points expiring soon" in listed and "Broken" not in listed


def test_the_shipped_examples_come_from_the_daemon_and_import_as_shown(daemon: Daemon) -> None:
    files = sorted(
        p.name.removesuffix(".toml") for p in EXAMPLES.iterdir() if p.name.endswith(".toml")
    )
    served = daemon.api("/v1/routes/examples")["examples"]
    assert [e["name"] for e in served] == files
    by_name = {e["name"]: e for e in served}
    assert by_name["points_expiring"]["title"] == "Points expiring soon"
    assert by_name["points_expiring"]["description"].startswith("loyalty.points_expiring")
    assert by_name["points_expiring"]["toml"] == (EXAMPLES / "points_expiring.toml").read_text()
    listed = daemon.cli("routes", "examples").stdout
    assert all(name in listed for name in files) and "--show NAME" in listed
    assert json.loads(daemon.cli("routes", "examples", "--json").stdout)["examples"] == served
    shown = daemon.cli("routes", "examples", "--show", "points_expiring").stdout
    assert shown == (EXAMPLES / "points_expiring.toml").read_text()
    assert (
        json.loads(daemon.cli("routes", "examples", "--show", "coupon_created", "--json").stdout)
        == by_name["coupon_created"]
    )
    [route_id] = import_text(daemon, shown, "points_expiring.toml")
    assert daemon.api(f"/v1/routes/{route_id}")["name"] == "Points expiring soon"
    unknown = daemon.cli("routes", "examples", "--show", "nope", check=False)
    assert unknown.returncode == 2 and "no example 'nope'" in unknown.stderr
    assert "points_expiring" in unknown.stderr


def test_routes_test_renders_without_sending(routed: Daemon, sandbox: Sandbox) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    [route_id] = import_file(hub, EXAMPLES / "points_expiring.toml")
    sample = hub.directory / "event.json"
    sample.write_text(
        json.dumps(event(1, "loyalty.points_expiring", {"points": 30, "days_left": 3}))
    )
    shown = hub.cli("routes", "test", str(route_id), "--event", str(sample)).stdout
    assert "would send" in shown and '"name": "loyalty: points_expiring"' in shown
    sample.write_text(json.dumps(event(1, "loyalty.points_expiring", {"days_left": 30})))
    assert (
        "conditions do not hold"
        in hub.cli("routes", "test", str(route_id), "--event", str(sample)).stdout
    )
    assert omnisend_events(sandbox) == [] and deliveries(hub) == []


def test_built_in_triggers_fire_once_from_the_data(routed: Daemon, sandbox: Sandbox) -> None:
    """customer.created and consent.changed come from the customer rows; a pushed event
    with a built-in name is stored but does not fire a second time."""
    hub = routed
    connect(hub, sandbox, "omnisend")
    import_text(
        hub,
        route("created", trigger="customer.created") + route("consent", trigger="consent.changed"),
    )
    ingest(
        hub,
        "customers",
        {"id": "c1", "email": "ann@example.com", "updated_at": "2026-11-22T10:00:00Z"},
    )
    ingest(
        hub,
        "customers",
        {
            "id": "c1",
            "email": "ann@example.com",
            "updated_at": "2026-11-22T10:05:00Z",
            "email_consent": {"state": "subscribed", "updated_at": "2026-11-22T10:05:00Z"},
        },
    )
    ingest(hub, "events", event(9, "consent.changed", {"to": "subscribed"}))
    ingest(
        hub,
        "customers",
        {
            "id": "c1",
            "email": "ann@example.com",  # a plain repeat
            "updated_at": "2026-11-22T10:05:00Z",
            "email_consent": {"state": "subscribed", "updated_at": "2026-11-22T10:05:00Z"},
        },
    )
    wait(lambda: hub.counts()["inbox_pending"] == 0)
    wait(lambda: len(deliveries(hub, status="delivered")) >= 2)
    kinds = sorted(d["event_type"] for d in deliveries(hub))
    assert kinds == ["consent.changed", "customer.created"]


def test_two_routes_on_one_event_each_arrive_and_bad_data_kills_only_its_delivery(
    routed: Daemon, sandbox: Sandbox
) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    import_text(
        hub,
        route("first")
        + route("second")
        + route("divides", extra="").replace(
            'n = "{{ data.n }}"', 'n = "{{ 10 | divided_by: data.n }}"'
        ),
    )
    ingest(hub, "events", event(1, "custom.ping", {"n": 0}))  # divided_by 0 dies alone
    wait(lambda: hub.counts()["inbox_pending"] == 0)
    wait(lambda: len(deliveries(hub, status="delivered")) == 2)
    events = omnisend_events(sandbox)
    assert len({e["eventID"] for e in events}) == 2  # one per route: distinct keys
    assert hub.counts()["inbox_quarantined"] == 0  # the event itself was stored
    [dead] = deliveries(hub, status="dead")
    assert dead["route_name"] == "divides" and "template error" in dead["last_error"]
    refused = hub.cli("deliveries", "replay", str(dead["id"]), check=False)
    assert refused.returncode == 1 and "refused when it was planned" in refused.stderr
    assert "replayed 0" in hub.cli("deliveries", "replay", "--dead").stdout


def test_a_pushed_type_is_never_rendered_as_a_template(routed: Daemon, sandbox: Sandbox) -> None:
    hub = routed
    connect(hub, sandbox, "omnisend")
    import_text(
        hub,
        ROUTE.format(name="family", provider="omnisend", trigger="custom.*", extra="").replace(
            'name = "{{ event.type }}"\n', ""
        ),
    )
    ingest(
        hub,
        "customers",
        {"id": "c1", "email": "ann@example.com", "properties": {"secret": "s3cr3t"}},
    )
    ingest(hub, "events", event(1, "custom.{{ customer.properties.secret }}", {"n": 1}))
    wait(lambda: len(omnisend_events(sandbox)) == 1)
    assert omnisend_events(sandbox)[0]["eventName"] == "custom.{{ customer.properties.secret }}"
