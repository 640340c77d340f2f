"""The real provider clients against the sandbox, in process (ASGI transport, no sockets).

Each client's wire format is checked by the simulator that speaks the documented API:
auth, batches with per-row results, consent both ways, error envelopes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from patchbayd.clock import FakeClock
from patchbayd.providers.base import Consent, Contact, Provider
from patchbayd.providers.errors import AuthFailed, Rejected, Transient
from patchbayd.providers.registry import SPECS, build
from patchbayd.sandbox.app import build as sandbox

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

SETUPS: dict[str, tuple[str, dict[str, str]]] = {
    "omnisend": ("sandbox-o", {"base_url": "http://sb/omnisend"}),
    "klaviyo": ("sandbox-k", {"base_url": "http://sb/klaviyo"}),
    "salesmanago": (
        "sandbox-secret",
        {"base_url": "http://sb/salesmanago", "client_id": "c1", "owner": "owner@example.com"},
    ),
    "benchmark": ("sandbox-b", {"base_url": "http://sb/benchmark"}),
    "mailchimp": ("sandbox-m-us1", {"base_url": "http://sb/mailchimp/3.0"}),
    "webhook": ("sandbox-w", {"base_url": "http://sb/webhook/test"}),
}
LISTED = ["klaviyo", "mailchimp", "benchmark"]


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock(T0)
        self.app = sandbox(clock=self.clock)
        self.transport = httpx.ASGITransport(app=self.app)
        self.control = httpx.AsyncClient(transport=self.transport, base_url="http://sb")

    def client(self, name: str, secret: str | None = None) -> Provider:
        default_secret, settings = SETUPS[name]
        return build(
            SPECS[name], settings, secret or default_secret, self.clock, transport=self.transport
        )

    async def faults(self, system: str, **knobs: Any) -> None:
        (await self.control.post(f"/_sandbox/{system}/faults", json=knobs)).raise_for_status()

    async def state(self, system: str) -> dict[str, Any]:
        return dict((await self.control.get(f"/_sandbox/{system}/state")).json())


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    yield r
    await r.control.aclose()


async def destination(provider: Provider) -> str | None:
    if provider.creates_destinations:
        return (await provider.ensure_destination("Newsletter")).id
    found = await provider.destinations()
    return found[0].id if found else None


@pytest.mark.parametrize("name", list(SETUPS))
async def test_verify_accepts_a_sandbox_key_and_rejects_another(rig: Rig, name: str) -> None:
    assert (await rig.client(name).verify()).name
    if name == "webhook":
        return  # a plain endpoint has no keys to reject
    wrong = "wrong-" + SETUPS[name][0]
    with pytest.raises(AuthFailed) as caught:
        await rig.client(name, wrong).verify()
    assert wrong not in str(caught.value)
    assert caught.value.reason.startswith(SPECS[name].title)


@pytest.mark.parametrize("name", list(SETUPS))
async def test_batch_upsert_reports_each_row(rig: Rig, name: str) -> None:
    provider = rig.client(name)
    dest = await destination(provider)
    contacts = [
        Contact(
            email=f"ann{i}@example.com",
            first_name="Ann",
            last_name=f"N{i}",
            email_consent=Consent("subscribed", T0),
            tags=("vip",),
        )
        for i in range(3)
    ] + [Contact(email="not-an-address")]
    results = await provider.upsert_contacts(dest, contacts)
    assert [r.key for r in results] == [c.key for c in contacts]
    assert [r.ok for r in results[:3]] == [True, True, True]
    if name != "webhook":  # a webhook receiver takes whatever it is sent
        assert not results[3].ok and results[3].reason
        assert results[3].reason.startswith(SPECS[name].title)


@pytest.mark.parametrize("name", ["omnisend", "klaviyo", "salesmanago", "benchmark", "mailchimp"])
async def test_consent_set_and_looked_up(rig: Rig, name: str) -> None:
    provider = rig.client(name)
    dest = await destination(provider)
    email = "bo@example.com"
    assert await provider.lookup_consent(email, dest) is None
    await provider.set_consent(dest, email, Consent("subscribed", T0))
    found = await provider.lookup_consent(email, dest)
    assert found is not None and found.state == "subscribed"
    await provider.set_consent(dest, email, Consent("unsubscribed", T0 + timedelta(hours=1)))
    found = await provider.lookup_consent(email, dest)
    assert found is not None and found.state == "unsubscribed"


@pytest.mark.parametrize("name", ["omnisend", "mailchimp", "salesmanago"])
async def test_a_contact_sync_never_resubscribes_an_unsubscribed_contact(
    rig: Rig, name: str
) -> None:
    provider = rig.client(name)
    dest = await destination(provider)
    email = "left@example.com"
    await provider.upsert_contacts(
        dest, [Contact(email=email, email_consent=Consent("unsubscribed", T0 + timedelta(hours=2)))]
    )
    # A resync carrying an older or unknown state must not undo the opt-out.
    await provider.upsert_contacts(
        dest, [Contact(email=email, email_consent=Consent("not_subscribed", T0))]
    )
    await provider.upsert_contacts(dest, [Contact(email=email, first_name="Changed")])
    found = await provider.lookup_consent(email, dest)
    assert found is not None and found.state == "unsubscribed"


async def test_benchmark_exposes_capacity_and_refuses_beyond_it(rig: Rig) -> None:
    provider = rig.client("benchmark")
    await rig.faults("benchmark", capacity=2)
    capacity = await provider.capacity()
    assert capacity is not None and (capacity.used, capacity.limit, capacity.free) == (0, 2, 2)
    dest = await destination(provider)
    results = await provider.upsert_contacts(
        dest, [Contact(email=f"c{i}@example.com") for i in range(3)]
    )
    assert [r.ok for r in results] == [True, True, False]


async def test_salesmanago_signs_with_the_secret_and_fails_inside_http_200(rig: Rig) -> None:
    with pytest.raises(AuthFailed, match="Not authenticated"):
        await rig.client("salesmanago", "sandbox-not-the-secret").verify()
    state = await rig.state("salesmanago")
    assert sum(state["requests"].values()) == 1


@pytest.mark.parametrize("name", ["omnisend", "klaviyo", "benchmark", "mailchimp"])
@pytest.mark.parametrize(
    ("knobs", "kind", "words"),
    [
        ({"error_rate": 1.0, "error_status": 500}, Transient, "HTTP 500"),
        ({"error_rate": 1.0, "error_status": 400}, Rejected, "HTTP 400"),
        ({"malformed": True}, Transient, "malformed"),
        ({"down": True}, Transient, "503"),
    ],
)
async def test_error_envelopes_map_to_the_taxonomy(
    rig: Rig, name: str, knobs: dict[str, Any], kind: type[Exception], words: str
) -> None:
    await rig.faults(name, **knobs)
    with pytest.raises(kind, match=words):
        await rig.client(name).verify()


async def test_a_spent_window_holds_the_client_until_the_reset_without_a_429(rig: Rig) -> None:
    provider = rig.client("omnisend")
    await rig.faults("omnisend", rate_limit_per_min=2)
    await provider.verify()
    await provider.verify()
    limiter = provider.http.limiter
    assert 50 < limiter.held_for() <= 60  # X-Rate-Limit-Remaining: 0 and the reset time
    rig.clock.advance(61)  # the sandbox window and our limiter share the fake clock
    await provider.verify()
    assert limiter.throttled == 0
    assert (await rig.state("omnisend"))["requests"]["GET /v3/contacts"] == 3


async def test_salesmanago_resync_does_not_resubscribe_someone_who_left_there(rig: Rig) -> None:
    provider = rig.client("salesmanago")
    email = "gone@example.com"
    await provider.set_consent(None, email, Consent("unsubscribed", T0))
    await provider.upsert_contacts(
        None, [Contact(email=email, first_name="G", email_consent=Consent("subscribed", T0))]
    )
    found = await provider.lookup_consent(email)
    assert found is not None and found.state == "unsubscribed"
