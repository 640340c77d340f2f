"""Outgoing deliveries (Shopify webhooks, provider consent callbacks).

They happen before the control call that caused them answers, so a test knows the
receiver has been called once its control call returns, and sees each receiver's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

TIMEOUT_SECONDS = 5.0  # what Shopify waits for a webhook receiver


@dataclass(frozen=True)
class Delivery:
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


async def deliver_all(deliveries: Sequence[Delivery]) -> list[int | str]:
    """Each receiver's HTTP status, or "error: ..." when it could not be reached."""
    results: list[int | str] = []
    if not deliveries:
        return results
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, trust_env=False) as client:
        for delivery in deliveries:
            try:
                response = await client.request(
                    delivery.method, delivery.url, content=delivery.body, headers=delivery.headers
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                results.append(f"error: {type(exc).__name__}: {exc}".rstrip(": "))
            else:
                results.append(response.status_code)
    return results
