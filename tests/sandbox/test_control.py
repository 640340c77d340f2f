from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from tests.sandbox.conftest import Receiver
from tests.sandbox.test_providers import MAILCHIMP, OMNISEND, omnisend_contact, set_faults, sm

pytestmark = pytest.mark.anyio

PROVIDERS = ["omnisend", "klaviyo", "salesmanago", "benchmark", "mailchimp"]


async def test_state_counts_requests_per_endpoint_template_and_batch_items(
    sandbox: httpx.AsyncClient,
) -> None:
    for email in ("a@example.com", "b@example.com"):
        await sandbox.post(
            "/omnisend/v3/contacts", headers=OMNISEND, json=omnisend_contact(email, "subscribed")
        )
    await sandbox.post("/omnisend/v3/contacts", json={})  # no key: still a request
    started = await sandbox.post(
        "/omnisend/v3/batches",
        headers=OMNISEND,
        json={
            "method": "POST",
            "endpoint": "contacts",
            "items": [omnisend_contact(f"c{i}@example.com", "subscribed") for i in range(3)],
        },
    )
    await sandbox.get(f"/omnisend/v3/batches/{started.json()['batchID']}", headers=OMNISEND)
    state = (await sandbox.get("/_sandbox/omnisend/state")).json()
    assert state["system"] == "omnisend"
    assert state["requests"] == {
        "POST /v3/contacts": 3,
        "POST /v3/batches": 1,
        "GET /v3/batches/{batch_id}": 1,
    }
    assert state["items"] == {"POST /v3/batches": 3}
    assert len(state["contacts"]) == 5
    assert state["faults"]["error_rate"] == 0.0


async def test_shopify_templates_leave_out_the_shop_and_ids(sandbox: httpx.AsyncClient) -> None:
    token = {"X-Shopify-Access-Token": "sandbox-t"}
    await sandbox.get("/shopify/a/admin/api/2026-10/customers.json", headers=token)
    await sandbox.get("/shopify/b/admin/api/2026-07/customers/17.json", headers=token)
    requests = (await sandbox.get("/_sandbox/shopify/state")).json()["requests"]
    assert requests == {
        "GET /admin/api/{v}/customers.json": 1,
        "GET /admin/api/{v}/customers/{id}.json": 1,
    }


async def test_reset_empties_every_system_and_its_faults(sandbox: httpx.AsyncClient) -> None:
    await sandbox.post(
        "/omnisend/v3/contacts", headers=OMNISEND, json=omnisend_contact("a@example.com")
    )
    await set_faults(sandbox, "omnisend", error_rate=1)
    await sandbox.post("/_sandbox/shopify/s/seed", json={"customers": 5})
    await sandbox.post(
        "/mailchimp/3.0/lists/list1",
        auth=MAILCHIMP,
        json={"members": [{"email_address": "a@example.com", "status": "subscribed"}]},
    )
    answer = await sandbox.post("/_sandbox/reset")
    assert answer.status_code == 200
    omnisend = (await sandbox.get("/_sandbox/omnisend/state")).json()
    assert (omnisend["contacts"], omnisend["requests"], omnisend["faults"]["error_rate"]) == (
        [],
        {},
        0.0,
    )
    assert (await sandbox.get("/_sandbox/shopify/state")).json()["shops"] == {}
    mailchimp = (await sandbox.get("/_sandbox/mailchimp/state")).json()
    assert mailchimp["lists"] == {"list1": {"name": "Newsletter", "members": []}}


async def test_faults_are_a_partial_update(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "klaviyo", latency_ms=5, capacity=10)
    answer = await sandbox.post("/_sandbox/klaviyo/faults", json={"capacity": None})
    assert (answer.json()["latency_ms"], answer.json()["capacity"]) == (5.0, None)


async def test_unknown_system_is_404(sandbox: httpx.AsyncClient) -> None:
    assert (await sandbox.get("/_sandbox/hubspot/state")).status_code == 404
    assert (
        await sandbox.post(
            "/_sandbox/webhook/consent", json={"email": "a@example.com", "state": "subscribed"}
        )
    ).status_code == 404


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_consent_change_fires_the_callback_with_the_email_substituted(
    sandbox: httpx.AsyncClient, receiver: Receiver, provider: str
) -> None:
    registered = await sandbox.post(
        f"/_sandbox/{provider}/callbacks",
        json={
            "opt_in": f"{receiver.url}/in?email=$email$&k=1",
            "opt_out": f"{receiver.url}/out?email=$email$",
        },
    )
    assert registered.json()["method"] == "GET"
    if provider == "benchmark":  # Benchmark changes existing contacts only
        listed = await sandbox.post(
            "/benchmark/Contact/", headers={"AuthToken": "sandbox-b"}, json={"Data": {"Name": "L"}}
        )
        list_id = listed.json()["Response"]["Data"]["ID"]
        await sandbox.post(
            f"/benchmark/Contact/{list_id}/ContactDetails",
            headers={"AuthToken": "sandbox-b"},
            json={"Data": {"Email": "a+b@example.com"}},
        )
    answer = await sandbox.post(
        f"/_sandbox/{provider}/consent",
        json={"email": "a+b@example.com", "state": "unsubscribed", "at": "2026-06-01T12:00:00Z"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["email"], body["state"]) == ("a+b@example.com", "unsubscribed")
    assert body["callbacks"] == [
        {"url": f"{receiver.url}/out?email=a%2Bb%40example.com", "status": 200}
    ]
    [request] = receiver.requests
    assert (request.method, request.path) == ("GET", "/out?email=a%2Bb%40example.com")
    state = json.dumps((await sandbox.get(f"/_sandbox/{provider}/state")).json())
    assert "a+b@example.com" in state


async def test_consent_changes_the_provider_state(sandbox: httpx.AsyncClient) -> None:
    await sandbox.post(
        "/salesmanago/api/contact/upsert",
        json=sm(contact={"email": "a@example.com"}, forceOptIn=True),
    )
    await sandbox.post(
        "/_sandbox/salesmanago/consent", json={"email": "a@example.com", "state": "unsubscribed"}
    )
    basic = (
        await sandbox.post("/salesmanago/api/contact/basic", json=sm(email=["a@example.com"]))
    ).json()
    assert basic["contacts"][0]["optedOut"] is True
    await sandbox.post(
        "/_sandbox/mailchimp/consent", json={"email": "m@example.com", "state": "subscribed"}
    )
    members = (await sandbox.get("/_sandbox/mailchimp/state")).json()["lists"]["list1"]["members"]
    assert [(m["email_address"], m["status"]) for m in members] == [("m@example.com", "subscribed")]


async def test_post_callbacks_carry_json(sandbox: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.status = 204
    await sandbox.post(
        "/_sandbox/omnisend/callbacks",
        json={"opt_in": f"{receiver.url}/cb/$email$", "method": "POST"},
    )
    answer = await sandbox.post(
        "/_sandbox/omnisend/consent",
        json={"email": "a@example.com", "state": "subscribed", "at": "2026-06-01T12:00:00Z"},
    )
    assert answer.json()["callbacks"][0]["status"] == 204
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/cb/a%40example.com")
    assert json.loads(request.body) == {
        "email": "a@example.com",
        "state": "subscribed",
        "at": "2026-06-01T12:00:00.000Z",
    }
    no_opt_out = await sandbox.post(
        "/_sandbox/omnisend/consent", json={"email": "a@example.com", "state": "unsubscribed"}
    )
    assert no_opt_out.json()["callbacks"] == []
    assert (await sandbox.get("/_sandbox/omnisend/callbacks")).json() == {
        "opt_in": f"{receiver.url}/cb/$email$",
        "opt_out": None,
        "method": "POST",
        "secret": None,
    }


async def test_a_registered_secret_signs_the_salesmanago_key(
    sandbox: httpx.AsyncClient, receiver: Receiver
) -> None:
    await sandbox.post(
        "/_sandbox/salesmanago/callbacks",
        json={"opt_out": f"{receiver.url}/cb?email=$email$&key=$key$", "secret": "s3"},
    )
    await sandbox.post(
        "/_sandbox/salesmanago/consent", json={"email": "a@example.com", "state": "unsubscribed"}
    )
    [request] = receiver.requests
    key = hashlib.sha1(b"a@example.coms3").hexdigest()
    assert request.path == f"/cb?email=a%40example.com&key={key}"
    shown = (await sandbox.get("/_sandbox/salesmanago/callbacks")).json()
    assert shown["secret"] == "set"  # never echoed


async def test_control_input_is_validated(sandbox: httpx.AsyncClient) -> None:
    bad = [
        ("/_sandbox/omnisend/callbacks", {"opt_in": "ftp://x"}),
        ("/_sandbox/omnisend/callbacks", {"method": "PUT"}),
        ("/_sandbox/omnisend/consent", {"email": "a@example.com", "state": "maybe"}),
        (
            "/_sandbox/omnisend/consent",
            {"email": "a@example.com", "state": "subscribed", "at": "yesterday"},
        ),
        ("/_sandbox/shopify/s/seed", {"customers": -1}),
        ("/_sandbox/shopify/s/customers", {"email_marketing_consent": {"state": "maybe"}}),
    ]
    for url, body in bad:
        answer = await sandbox.post(url, json=body)
        assert answer.status_code == 400, url
        assert "error" in answer.json()
    assert (await sandbox.post("/_sandbox/reset", content=b"")).status_code == 200
    assert (await sandbox.post("/_sandbox/omnisend/faults", content=b"{")).status_code == 400
