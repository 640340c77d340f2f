from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest

from patchbayd.clock import FakeClock
from tests.sandbox.test_providers import BENCHMARK, KLAVIYO, MAILCHIMP, OMNISEND, set_faults, sm

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Probe:
    """One cheap, authenticated request per system, and how that system speaks errors."""

    system: str
    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    rate_headers: tuple[str, ...] = ()

    async def send(self, sandbox: httpx.AsyncClient) -> httpx.Response:
        return await sandbox.request(self.method, self.url, **self.kwargs)


PROBES = [
    Probe(
        "shopify",
        "GET",
        "/shopify/s/admin/api/2026-10/shop.json",
        {"headers": {"X-Shopify-Access-Token": "sandbox-t"}},
        ("X-Shopify-Shop-Api-Call-Limit",),
    ),
    Probe(
        "omnisend",
        "GET",
        "/omnisend/v3/contacts?limit=1",
        {"headers": OMNISEND},
        ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"),
    ),
    Probe(
        "klaviyo",
        "GET",
        "/klaviyo/api/accounts",
        {"headers": KLAVIYO},
        ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"),
    ),
    Probe(
        "salesmanago",
        "POST",
        "/salesmanago/api/contact/hasContact",
        {"json": sm(email="a@example.com")},
    ),
    Probe(
        "benchmark",
        "GET",
        "/benchmark/Client/",
        {"headers": BENCHMARK},
        ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
    ),
    Probe("mailchimp", "GET", "/mailchimp/3.0/", {"auth": MAILCHIMP}),
    Probe(
        "webhook",
        "POST",
        "/webhook/any",
        {"json": {"x": 1}},
        ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
    ),
]
BY_SYSTEM = {probe.system: probe for probe in PROBES}


def envelope_message(system: str, body: Any) -> str:
    """The human message inside each provider's own error envelope."""
    if system == "shopify":
        return str(body["errors"])
    if system in ("omnisend", "webhook"):
        return str(body["error"])
    if system == "klaviyo":
        return str(body["errors"][0]["detail"])
    if system == "salesmanago":
        assert body["success"] is False
        return str(body["message"][0])
    if system == "benchmark":
        assert body["Response"]["Status"] == "-1"
        return str(body["Response"]["Errors"][0]["Message"])
    assert system == "mailchimp"
    return str(body["detail"])


def ids(probe: Probe) -> str:
    return probe.system


@pytest.mark.parametrize("probe", PROBES, ids=ids)
async def test_rate_limit_answers_429_with_retry_after_and_provider_headers(
    sandbox: httpx.AsyncClient, clock: FakeClock, probe: Probe
) -> None:
    await set_faults(sandbox, probe.system, rate_limit_per_min=2)
    first = await probe.send(sandbox)
    assert first.status_code == 200
    for name in probe.rate_headers:
        assert name in first.headers
    await probe.send(sandbox)
    clock.advance(15)
    refused = await probe.send(sandbox)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    envelope_message(probe.system, refused.json())
    if probe.system == "omnisend":
        assert refused.json() == {"error": "Too many requests", "retryAfter": 45}
        assert refused.headers["X-Rate-Limit-Remaining"] == "0"
        assert refused.headers["X-Rate-Limit-Reset"] == "45"
    if probe.system == "shopify":
        assert refused.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"
    if probe.system == "klaviyo":
        assert refused.json()["errors"][0]["code"] == "throttled"
    clock.advance(45)
    assert (await probe.send(sandbox)).status_code == 200


@pytest.mark.parametrize("probe", PROBES, ids=ids)
async def test_error_rate_answers_error_status_in_the_provider_envelope(
    sandbox: httpx.AsyncClient, probe: Probe
) -> None:
    await set_faults(sandbox, probe.system, error_rate=1, error_status=502)
    answer = await probe.send(sandbox)
    assert answer.status_code == 502
    assert envelope_message(probe.system, answer.json()) == "Bad Gateway"


@pytest.mark.parametrize("probe", PROBES, ids=ids)
async def test_down_answers_503_to_everything(sandbox: httpx.AsyncClient, probe: Probe) -> None:
    await set_faults(sandbox, probe.system, down=True)
    answer = await probe.send(sandbox)
    assert answer.status_code == 503
    envelope_message(probe.system, answer.json())
    counts = (await sandbox.get(f"/_sandbox/{probe.system}/state")).json()["requests"]
    assert sum(counts.values()) == 1


@pytest.mark.parametrize("probe", PROBES, ids=ids)
async def test_malformed_answers_2xx_with_a_body_that_is_not_json(
    sandbox: httpx.AsyncClient, probe: Probe
) -> None:
    await set_faults(sandbox, probe.system, malformed=True)
    answer = await probe.send(sandbox)
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


async def test_latency_delays_even_a_rejected_key(sandbox: httpx.AsyncClient) -> None:
    await set_faults(sandbox, "omnisend", latency_ms=150)
    started = time.monotonic()
    answer = await sandbox.get("/omnisend/v3/contacts", headers={"X-API-KEY": "wrong"})
    assert answer.status_code == 403
    assert time.monotonic() - started >= 0.15


async def test_revoked_keys_are_rejected_like_wrong_keys(sandbox: httpx.AsyncClient) -> None:
    probe = BY_SYSTEM["klaviyo"]
    await set_faults(sandbox, "klaviyo", revoked_keys=["sandbox-klav"])
    answer = await probe.send(sandbox)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "not_authenticated"
    other = await sandbox.get(
        "/klaviyo/api/accounts",
        headers={**KLAVIYO, "Authorization": "Klaviyo-API-Key sandbox-other"},
    )
    assert other.status_code == 200
    await set_faults(sandbox, "salesmanago", revoked_keys=["client-1"])
    refused = await BY_SYSTEM["salesmanago"].send(sandbox)
    assert refused.json() == {"success": False, "message": ["Not authenticated"]}


async def test_error_rate_is_repeatable_after_reset(sandbox: httpx.AsyncClient) -> None:
    probe = BY_SYSTEM["benchmark"]

    async def run() -> list[int]:
        await set_faults(sandbox, "benchmark", error_rate=0.5)
        return [(await probe.send(sandbox)).status_code for _ in range(20)]

    first = await run()
    assert 500 in first and 200 in first
    await sandbox.post("/_sandbox/reset")
    assert await run() == first


async def test_mailchimp_refuses_the_eleventh_concurrent_request(
    sandbox: httpx.AsyncClient,
) -> None:
    await set_faults(sandbox, "mailchimp", latency_ms=200)
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await BY_SYSTEM["mailchimp"].send(sandbox)).status_code)

    async with anyio.create_task_group() as group:
        for _ in range(12):
            group.start_soon(one)
    assert sorted(statuses) == [200] * 10 + [429] * 2
    assert (await BY_SYSTEM["mailchimp"].send(sandbox)).status_code == 200


async def test_unknown_knob_or_wrong_type_is_400(sandbox: httpx.AsyncClient) -> None:
    for knobs in (
        {"eror_rate": 1},
        {"error_rate": "high"},
        {"error_rate": 2},
        {"down": 1},
        {"rate_limit_per_min": 0},
        {"revoked_keys": "k"},
    ):
        answer = await sandbox.post("/_sandbox/omnisend/faults", json=knobs)
        assert answer.status_code == 400, knobs
        assert "error" in answer.json()
    assert (await sandbox.post("/_sandbox/klaviyo/faults", json={"secrets": {}})).status_code == 400
    faults = (await sandbox.get("/_sandbox/omnisend/faults")).json()
    assert faults == {
        "error_rate": 0.0,
        "error_status": 500,
        "latency_ms": 0.0,
        "job_latency_ms": 0.0,
        "rate_limit_per_min": None,
        "capacity": None,
        "down": False,
        "revoked_keys": [],
        "malformed": False,
    }
    assert (await sandbox.get("/_sandbox/nope/faults")).status_code == 404
