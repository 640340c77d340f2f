from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.conftest import Receiver
from tests.sandbox.test_shopify import verify


@pytest.fixture
def sandbox_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "patchbayd.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"sandbox listening on (http://127\.0\.0\.1:\d+)\n", line)
    assert match, line
    yield process, match.group(1)
    if process.poll() is None:
        process.kill()
        process.wait()


def test_served_sandbox_answers_and_fires_signed_shopify_webhooks(
    sandbox_process: tuple[subprocess.Popen[str], str], receiver: Receiver
) -> None:
    process, url = sandbox_process
    with httpx.Client(base_url=url, timeout=10) as client:
        api = "/shopify/demo-shop/admin/api/2026-10"
        token = {"X-Shopify-Access-Token": "sandbox-token"}
        assert client.get(f"{api}/shop.json", headers=token).status_code == 200
        hook = {"webhook": {"topic": "customers/create", "address": f"{receiver.url}/wh"}}
        assert client.post(f"{api}/webhooks.json", json=hook, headers=token).status_code == 201
        answer = client.post(
            "/_sandbox/shopify/demo-shop/customers", json={"email": "ann@example.com"}
        )
        assert answer.json()["webhooks"] == [{"address": f"{receiver.url}/wh", "status": 200}]
    [delivery] = receiver.requests
    assert verify(delivery.body, delivery.headers["X-Shopify-Hmac-Sha256"])
    assert delivery.headers["X-Shopify-Topic"] == "customers/create"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stdout is not None and process.stdout.read() == ""
