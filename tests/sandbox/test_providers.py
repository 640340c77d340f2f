from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

OMNISEND = {"X-API-KEY": "sandbox-omni"}
KLAVIYO = {"Authorization": "Klaviyo-API-Key sandbox-klav", "revision": "2026-07-15"}
BENCHMARK = {"AuthToken": "sandbox-bench"}
MAILCHIMP = ("anystring", "sandbox-chimp")


async def set_faults(sandbox: httpx.AsyncClient, system: str, **knobs: Any) -> None:
    answer = await sandbox.post(f"/_sandbox/{system}/faults", json=knobs)
    assert answer.status_code == 200, answer.text


def omnisend_contact(
    email: str, status: str | None = None, date: str | None = None
) -> dict[str, Any]:
    channel: dict[str, str] = {}
    if status:
        channel["status"] = status
    if date:
        channel["statusDate"] = date
    return {
        "identifiers": [{"type": "email", "id": email, "channels": {"email": channel}}],
        "firstName": "Ann",
        "tags": ["shop"],
        "customProperties": {"tier": "gold"},
    }


# --- Omnisend -----------------------------------------------------------------------------


async def test_omnisend_keys(sandbox: httpx.AsyncClient) -> None:
    assert (await sandbox.get("/omnisend/v3/contacts?limit=1", headers=OMNISEND)).json() == {
        "contacts": [],
        "paging": {"previous": None, "next": None, "limit": 1, "offset": 0},
    }
    wrong = await sandbox.get("/omnisend/v3/contacts", headers={"X-API-KEY": "real-key"})
    assert (wrong.status_code, wrong.json()) == (403, {"error": "Forbidden: invalid API key"})
    assert (await sandbox.get("/omnisend/v3/contacts")).status_code == 401


async def test_omnisend_upsert_keeps_newer_status_and_defaults_new_contacts_subscribed(
    sandbox: httpx.AsyncClient,
) -> None:
    post = sandbox.post
    created = await post(
        "/omnisend/v3/contacts",
        headers=OMNISEND,
        json=omnisend_contact("a@example.com", "unsubscribed", "2026-05-01T00:00:00Z"),
    )
    assert created.status_code == 201
    assert set(created.json()) == {"email", "contactID"}
    stale = await post(
        "/omnisend/v3/contacts",
        headers=OMNISEND,
        json=omnisend_contact("a@example.com", "subscribed", "2026-01-01T00:00:00Z"),
    )
    assert stale.status_code == 200
    defaulted = await post(
        "/omnisend/v3/contacts", headers=OMNISEND, json=omnisend_contact("b@example.com")
    )
    assert defaulted.status_code == 201
    found = await sandbox.get(
        "/omnisend/v3/contacts", params={"email": "A@example.com"}, headers=OMNISEND
    )
    [contact] = found.json()["contacts"]
    assert contact["identifiers"][0]["channels"]["email"]["status"] == "unsubscribed"
    assert contact["customProperties"] == {"tier": "gold"}
    state = (await sandbox.get("/_sandbox/omnisend/state")).json()
    statuses = {
        c["email"]: c["identifiers"][0]["channels"]["email"]["status"] for c in state["contacts"]
    }
    assert statuses == {"a@example.com": "unsubscribed", "b@example.com": "subscribed"}
    bad = await post("/omnisend/v3/contacts", headers=OMNISEND, json=omnisend_contact("nope"))
    assert (bad.status_code, bad.json()) == (400, {"error": "identifiers[0].id: invalid email"})


async def test_omnisend_batch_reports_each_item_and_capacity(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "omnisend", capacity=2)
    items = [
        omnisend_contact(e, "subscribed")
        for e in ("a@example.com", "bad", "b@example.com", "c@example.com")
    ]
    started = await sandbox.post(
        "/omnisend/v3/batches",
        headers=OMNISEND,
        json={"method": "POST", "endpoint": "contacts", "items": items},
    )
    assert started.status_code == 200
    assert started.json()["status"] == "pending" and started.json()["totalCount"] == 4
    batch_id = started.json()["batchID"]
    summary = (await sandbox.get(f"/omnisend/v3/batches/{batch_id}", headers=OMNISEND)).json()
    assert (summary["status"], summary["finishedCount"], summary["errorsCount"]) == (
        "finished",
        4,
        2,
    )
    result = (await sandbox.get(f"/omnisend/v3/batches/{batch_id}/items", headers=OMNISEND)).json()[
        "items"
    ]
    assert [item["responseCode"] for item in result] == [201, 400, 201, 403]
    assert result[3]["response"] == {"error": "Contacts limit reached for your plan"}
    assert result[0]["request"] == items[0]
    too_many = await sandbox.post(
        "/omnisend/v3/batches",
        headers=OMNISEND,
        json={"method": "POST", "endpoint": "contacts", "items": items * 251},
    )
    assert too_many.status_code == 400


async def test_omnisend_events_dedupe_on_id_and_time(sandbox: httpx.AsyncClient) -> None:
    event = {
        "eventName": "placed order",
        "eventID": "o-1",
        "eventTime": "2026-05-01T10:00:00Z",
        "origin": "api",
        "contact": {"email": "a@example.com"},
        "properties": {"v": 1},
    }
    for _ in range(2):
        answer = await sandbox.post("/omnisend/v5/events", headers=OMNISEND, json=event)
        assert (answer.status_code, answer.json()) == (202, {})
    later = {**event, "eventTime": "2026-05-01T10:00:01Z"}
    await sandbox.post("/omnisend/v5/events", headers=OMNISEND, json=later)
    assert len((await sandbox.get("/_sandbox/omnisend/state")).json()["events"]) == 2


# --- Klaviyo ------------------------------------------------------------------------------


def klaviyo_profile(email: str, **attributes: Any) -> dict[str, Any]:
    return {"type": "profile", "attributes": {"email": email, **attributes}}


async def test_klaviyo_keys_and_revision(sandbox: httpx.AsyncClient) -> None:
    account = await sandbox.get("/klaviyo/api/accounts", headers=KLAVIYO)
    assert (
        account.json()["data"][0]["attributes"]["contact_information"]["organization_name"]
        == "Sandbox Store"
    )
    assert account.headers["content-type"].startswith("application/vnd.api+json")
    wrong = await sandbox.get(
        "/klaviyo/api/accounts",
        headers={"Authorization": "Klaviyo-API-Key pk_real", "revision": "2026-07-15"},
    )
    assert wrong.status_code == 401
    [problem] = wrong.json()["errors"]
    assert {k: problem[k] for k in ("status", "code", "title", "detail", "source")} == {
        "status": 401,
        "code": "not_authenticated",
        "title": "Authentication credentials were not provided.",
        "detail": "Missing or invalid private key.",
        "source": {"pointer": "/data/"},
    }
    no_revision = await sandbox.get(
        "/klaviyo/api/accounts", headers={"Authorization": KLAVIYO["Authorization"]}
    )
    assert no_revision.status_code == 400
    assert no_revision.json()["errors"][0]["title"] == "revision header missing"


async def test_klaviyo_profile_import_keeps_omitted_and_clears_null(
    sandbox: httpx.AsyncClient,
) -> None:
    url = "/klaviyo/api/profile-import"
    first = await sandbox.post(
        url,
        headers=KLAVIYO,
        json={
            "data": klaviyo_profile(
                "a@example.com", first_name="Ann", last_name="Lee", properties={"tier": "gold"}
            )
        },
    )
    assert first.status_code == 201
    again = await sandbox.post(
        url,
        headers=KLAVIYO,
        json={"data": klaviyo_profile("a@example.com", last_name=None, properties={"points": 3})},
    )
    assert again.status_code == 200
    attributes = again.json()["data"]["attributes"]
    assert (attributes["first_name"], attributes["last_name"]) == ("Ann", None)
    assert attributes["properties"] == {"tier": "gold", "points": 3}
    bad = await sandbox.post(url, headers=KLAVIYO, json={"data": klaviyo_profile("nope")})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["source"] == {"pointer": "/data/attributes/email"}
    assert bad.json()["errors"][0]["code"] == "invalid"


async def test_klaviyo_bulk_import_job_reports_errors_by_index(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "klaviyo", capacity=2)
    profiles = [
        klaviyo_profile(e) for e in ("a@example.com", "bad", "b@example.com", "c@example.com")
    ]
    started = await sandbox.post(
        "/klaviyo/api/profile-bulk-import-jobs",
        headers=KLAVIYO,
        json={
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": profiles}},
            }
        },
    )
    assert started.status_code == 202
    job = started.json()["data"]
    assert job["attributes"]["status"] == "queued" and job["attributes"]["total_count"] == 4
    done = (
        await sandbox.get(f"/klaviyo/api/profile-bulk-import-jobs/{job['id']}", headers=KLAVIYO)
    ).json()["data"]["attributes"]
    assert (done["status"], done["completed_count"], done["failed_count"]) == ("complete", 2, 2)
    errors = (
        await sandbox.get(
            f"/klaviyo/api/profile-bulk-import-jobs/{job['id']}/import-errors", headers=KLAVIYO
        )
    ).json()["data"]
    assert [(e["attributes"]["source"]["pointer"], e["attributes"]["code"]) for e in errors] == [
        ("/data/attributes/profiles/data/1", "invalid"),
        ("/data/attributes/profiles/data/3", "capacity_exceeded"),
    ]


async def test_klaviyo_subscriptions_change_consent_only_through_jobs(
    sandbox: httpx.AsyncClient,
) -> None:
    def job(kind: str, email: str, **extra: Any) -> dict[str, Any]:
        profile = {
            "type": "profile",
            "attributes": {
                "email": email,
                "subscriptions": {
                    "email": {
                        "marketing": {
                            "consent": "SUBSCRIBED",
                            "consented_at": "2026-03-01T00:00:00Z",
                        }
                    }
                },
            },
        }
        return {
            "data": {
                "type": kind,
                "attributes": {"profiles": {"data": [profile]}, **extra},
                "relationships": {"list": {"data": {"type": "list", "id": "LIST1"}}},
            }
        }

    async def consent() -> Any:
        found = await sandbox.get(
            "/klaviyo/api/profiles",
            params={"filter": 'equals(email,"a@example.com")'},
            headers=KLAVIYO,
        )
        return found.json()["data"][0]["attributes"]["subscriptions"]["email"]["marketing"]

    lists = (await sandbox.get("/klaviyo/api/lists", headers=KLAVIYO)).json()["data"]
    assert [(item["id"], item["attributes"]["name"]) for item in lists] == [("LIST1", "Newsletter")]
    subscribe = await sandbox.post(
        "/klaviyo/api/profile-subscription-bulk-create-jobs",
        headers=KLAVIYO,
        json=job("profile-subscription-bulk-create-job", "a@example.com", historical_import=True),
    )
    assert (subscribe.status_code, subscribe.content) == (202, b"")
    assert await consent() == {"consent": "SUBSCRIBED", "consent_timestamp": "2026-03-01T00:00:00Z"}
    unsubscribe = await sandbox.post(
        "/klaviyo/api/profile-subscription-bulk-delete-jobs",
        headers=KLAVIYO,
        json=job("profile-subscription-bulk-delete-job", "a@example.com"),
    )
    assert unsubscribe.status_code == 202
    assert (await consent())["consent"] == "UNSUBSCRIBED"
    state = (await sandbox.get("/_sandbox/klaviyo/state")).json()
    assert state["subscriptions"] == {"LIST1": []}


async def test_klaviyo_events_dedupe_on_unique_id(sandbox: httpx.AsyncClient) -> None:
    event = {
        "data": {
            "type": "event",
            "attributes": {
                "properties": {"value": 3},
                "time": "2026-05-01T10:00:00Z",
                "unique_id": "order-1",
                "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
                "profile": {"data": {"type": "profile", "attributes": {"email": "a@example.com"}}},
            },
        }
    }
    for _ in range(2):
        assert (
            await sandbox.post("/klaviyo/api/events", headers=KLAVIYO, json=event)
        ).status_code == 202
    assert len((await sandbox.get("/_sandbox/klaviyo/state")).json()["events"]) == 1


# --- SALESmanago --------------------------------------------------------------------------


def sm(**body: Any) -> dict[str, Any]:
    client, key, secret = "client-1", "random-key", "sandbox-secret"
    sha = hashlib.sha1((key + client + secret).encode()).hexdigest()
    return {
        "clientId": client,
        "apiKey": key,
        "requestTime": 1_700_000_000_000,
        "sha": sha,
        "owner": "owner@example.com",
        **body,
    }


async def test_salesmanago_auth_and_owner_fail_with_http_200(sandbox: httpx.AsyncClient) -> None:
    ok = await sandbox.post("/salesmanago/api/contact/hasContact", json=sm(email="a@example.com"))
    assert ok.json() == {"success": True, "message": [], "result": False}
    wrong = await sandbox.post(
        "/salesmanago/api/contact/hasContact", json={**sm(email="a@example.com"), "sha": "0" * 40}
    )
    assert (wrong.status_code, wrong.json()) == (
        200,
        {"success": False, "message": ["Not authenticated"]},
    )
    ownerless = await sandbox.post(
        "/salesmanago/api/contact/hasContact", json=sm(email="a@example.com", owner="nobody")
    )
    assert ownerless.json() == {"success": False, "message": ["Owner not found"]}


async def test_salesmanago_registered_secret_verifies(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "salesmanago", secrets={"client-2": "sandbox-other"})
    sha = hashlib.sha1(b"k" + b"client-2" + b"sandbox-other").hexdigest()
    body = {
        "clientId": "client-2",
        "apiKey": "k",
        "sha": sha,
        "owner": "o@example.com",
        "email": "a@example.com",
    }
    answer = await sandbox.post("/salesmanago/api/contact/hasContact", json=body)
    assert answer.json()["success"] is True
    faults = (await sandbox.get("/_sandbox/salesmanago/faults")).json()
    assert faults["secrets"] == {"client-2": "sandbox-other"}


async def test_salesmanago_upsert_batch_basic_and_events(sandbox: httpx.AsyncClient) -> None:
    upserted = await sandbox.post(
        "/salesmanago/api/contact/upsert",
        json=sm(contact={"email": "a@example.com", "name": "Ann"}, forceOptOut=True, tags=["SHOP"]),
    )
    assert upserted.json()["success"] is True and upserted.json()["contactId"]
    bad_tag = await sandbox.post(
        "/salesmanago/api/contact/upsert",
        json=sm(contact={"email": "a@example.com"}, tags=["two words"]),
    )
    assert bad_tag.json() == {"success": False, "message": ["Invalid tag"]}

    await set_faults(sandbox, "salesmanago", capacity=2)
    rows = [
        {"contact": {"email": e}, "forceOptIn": True}
        for e in ("a@example.com", "b@example.com", "c@example.com", "bad")
    ]
    batch = (
        await sandbox.post("/salesmanago/api/contact/batchupsertv2", json=sm(upsertDetails=rows))
    ).json()
    assert batch["success"] is True
    assert set(batch["contactIds"]) == {"a@example.com", "b@example.com"}
    assert batch["failed"] == [
        {"email": "c@example.com", "message": "Contacts limit exceeded"},
        {"email": "bad", "message": "Invalid email"},
    ]

    basic = (
        await sandbox.post(
            "/salesmanago/api/contact/basic", json=sm(email=["a@example.com", "zzz@example.com"])
        )
    ).json()
    [contact] = basic["contacts"]
    assert contact["optedOut"] is False  # forceOptIn in the batch
    assert isinstance(contact["createdOn"], int)
    opted = await sandbox.post("/salesmanago/api/contact/optout", json=sm(email="a@example.com"))
    assert opted.json()["success"] is True

    event = {
        "date": 1_700_000_000_000,
        "contactExtEventType": "PURCHASE",
        "value": 12.5,
        "externalId": "order-1",
    }
    for _ in range(2):
        added = await sandbox.post(
            "/salesmanago/api/v2/contact/addContactExtEvent",
            json=sm(email="a@example.com", contactEvent=event),
        )
        assert added.json()["success"] is True and added.json()["eventId"]
    missing = await sandbox.post(
        "/salesmanago/api/v2/contact/addContactExtEvent",
        json=sm(email="zzz@example.com", contactEvent=event),
    )
    assert missing.json() == {"success": False, "message": ["Contact not found"]}
    state = (await sandbox.get("/_sandbox/salesmanago/state")).json()
    assert len(state["events"]) == 2  # duplicates kept, as SALESmanago does


# --- Benchmark ----------------------------------------------------------------------------


async def test_benchmark_token_lists_contacts_and_limit(sandbox: httpx.AsyncClient) -> None:
    wrong = await sandbox.get("/benchmark/Client/", headers={"AuthToken": "real"})
    assert (wrong.status_code, wrong.json()) == (
        200,
        {
            "Response": {
                "Status": "-1",
                "Errors": [{"Code": "InvalidToken", "Message": "Invalid AuthToken"}],
            }
        },
    )
    await set_faults(sandbox, "benchmark", capacity=1)
    client = (await sandbox.get("/benchmark/Client/", headers=BENCHMARK)).json()["Response"]
    assert client["Status"] == "1" and client["Data"]["ContactLimit"] == 1
    created = await sandbox.post(
        "/benchmark/Contact/", headers=BENCHMARK, json={"Data": {"Name": "Store customers"}}
    )
    list_id = created.json()["Response"]["Data"]["ID"]
    found = (
        await sandbox.get(
            "/benchmark/Contact/", params={"SearchFilter": "store"}, headers=BENCHMARK
        )
    ).json()["Response"]
    assert found["Count"] == 1 and found["Data"][0]["ID"] == list_id

    url = f"/benchmark/Contact/{list_id}/ContactDetails"
    added = await sandbox.post(
        url,
        headers=BENCHMARK,
        json={"Data": {"Email": "a@example.com", "FirstName": "Ann", "EmailPerm": "1"}},
    )
    contact_id = added.json()["Response"]["Data"]["ID"]
    full = await sandbox.post(url, headers=BENCHMARK, json={"Data": {"Email": "b@example.com"}})
    assert full.json()["Response"]["Errors"][0]["Code"] == "ContactLimitExceeded"
    unknown = await sandbox.post(
        "/benchmark/Contact/999/ContactDetails",
        headers=BENCHMARK,
        json={"Data": {"Email": "b@example.com"}},
    )
    assert unknown.json()["Response"]["Errors"][0]["Code"] == "ListNotFound"

    patched = await sandbox.patch(
        f"{url}/{contact_id}",
        headers=BENCHMARK,
        json={"Data": {"EmailPerm": "0", "Status": "Unsubscribed"}},
    )
    assert patched.json()["Response"]["Status"] == "1"
    search = (
        await sandbox.get(
            "/benchmark/Contact/ContactDetails",
            params={"Search": "a@example.com"},
            headers=BENCHMARK,
        )
    ).json()["Response"]["Data"]
    assert [(c["Email"], c["EmailPerm"], c["Status"]) for c in search] == [
        ("a@example.com", "0", "Unsubscribed")
    ]


async def test_benchmark_csv_import_drops_what_benchmark_drops(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "benchmark", capacity=3)
    created = await sandbox.post(
        "/benchmark/Contact/", headers=BENCHMARK, json={"Data": {"Name": "All"}}
    )
    list_id = created.json()["Response"]["Data"]["ID"]
    await sandbox.post(
        "/_sandbox/benchmark/consent", json={"email": "gone@example.com", "state": "unsubscribed"}
    )
    csv = (
        "Email,FirstName,LastName,EmailPerm\n"
        "a@example.com,Ann,Lee,1\ninfo@shop.example.com,,,1\na@example.com,,,1\n"
        "gone@example.com,,,1\nnot-an-email,,,1\nb@example.com,,,1\nc@example.com,,,1\n"
        "d@example.com,,,1\n"
    )
    started = await sandbox.post(
        f"/benchmark/Contact/{list_id}/ContactDetails/CSV",
        headers=BENCHMARK,
        json={"Data": {"CSV": csv}},
    )
    import_id = started.json()["Response"]["Data"]["ImportID"]
    status = (
        await sandbox.get(
            "/benchmark/Contact/ContactImportStatus",
            params={"ImportID": import_id},
            headers=BENCHMARK,
        )
    ).json()["Response"]["Data"]
    assert (status["Status"], status["Imported"], status["Rejected"]) == ("Completed", 3, 5)
    assert [r["Reason"] for r in status["Rejections"]] == [
        "role address",
        "duplicate",
        "unsubscribed",
        "invalid",
        "limit",
    ]
    state = (await sandbox.get("/_sandbox/benchmark/state")).json()
    assert state["items"] == {"POST /Contact/{list_id}/ContactDetails/CSV": 8}


# --- Mailchimp ----------------------------------------------------------------------------


async def test_mailchimp_key_and_account(sandbox: httpx.AsyncClient) -> None:
    root = await sandbox.get("/mailchimp/3.0/", auth=MAILCHIMP)
    assert root.json()["account_name"] == "Sandbox Store"
    wrong = await sandbox.get("/mailchimp/3.0/", auth=("any", "abc-us6"))
    assert wrong.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    body = wrong.json()
    assert (body["title"], body["status"]) == ("API Key Invalid", 401)
    assert body["type"] == "https://mailchimp.com/developer/marketing/docs/errors/"
    lists = (await sandbox.get("/mailchimp/3.0/lists?count=10", auth=MAILCHIMP)).json()
    assert [(item["id"], item["name"]) for item in lists["lists"]] == [("list1", "Newsletter")]


async def test_mailchimp_batch_status_rules_and_capacity(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "mailchimp", capacity=2)
    members = [
        {
            "email_address": "a@example.com",
            "status_if_new": "unsubscribed",
            "merge_fields": {"FNAME": "Ann"},
        },
        {"email_address": "b@example.com"},
        {"email_address": "c@example.com", "status": "subscribed", "tags": ["vip"]},
        {"email_address": "d@example.com", "status": "subscribed"},
    ]
    first = (
        await sandbox.post(
            "/mailchimp/3.0/lists/list1",
            auth=MAILCHIMP,
            json={"members": members, "update_existing": True},
        )
    ).json()
    assert (first["total_created"], first["total_updated"], first["error_count"]) == (2, 0, 2)
    assert [(e["email_address"], e["error"]) for e in first["errors"]] == [
        ("b@example.com", "status required"),
        ("d@example.com", "Contact limit reached"),
    ]
    assert first["errors"][1]["error_code"] == "LIMIT_EXCEEDED"
    again = (
        await sandbox.post(
            "/mailchimp/3.0/lists/list1",
            auth=MAILCHIMP,
            json={
                "members": [{"email_address": "a@example.com", "status_if_new": "subscribed"}],
                "update_existing": True,
            },
        )
    ).json()
    assert again["total_updated"] == 1
    digest = hashlib.md5(b"a@example.com").hexdigest()
    member = (
        await sandbox.get(f"/mailchimp/3.0/lists/list1/members/{digest}", auth=MAILCHIMP)
    ).json()
    assert member["status"] == "unsubscribed"  # status_if_new never changes an existing member
    assert member["merge_fields"] == {"FNAME": "Ann"}
    patched = await sandbox.patch(
        f"/mailchimp/3.0/lists/list1/members/{digest}",
        auth=MAILCHIMP,
        json={"status": "subscribed"},
    )
    assert patched.json()["status"] == "subscribed"
    event = await sandbox.post(
        f"/mailchimp/3.0/lists/list1/members/{digest}/events",
        auth=MAILCHIMP,
        json={"name": "ordered", "properties": {"v": "1"}},
    )
    assert event.status_code == 204
    missing = await sandbox.get("/mailchimp/3.0/lists/list1/members/" + "0" * 32, auth=MAILCHIMP)
    assert (missing.status_code, missing.json()["title"]) == (404, "Resource Not Found")


# --- Generic webhook ----------------------------------------------------------------------


async def test_webhook_receiver_records_requests(sandbox: httpx.AsyncClient) -> None:
    answer = await sandbox.post("/webhook/orders", json={"id": 1}, headers={"X-Signature": "abc"})
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    [received] = (await sandbox.get("/_sandbox/webhook/state")).json()["received"]
    assert (received["name"], received["body"]) == ("orders", {"id": 1})
    assert received["headers"]["x-signature"] == "abc"
