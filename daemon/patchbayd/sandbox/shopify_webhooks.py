"""Shopify's webhook deliveries: the body, and the headers a receiver verifies and dedupes by.

The HMAC covers the exact bytes sent, so the body is serialised once and signed as is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .deliver import Delivery


@dataclass(frozen=True)
class Announcement:
    """A changed customer or order and the webhook topics the change fires."""

    payload: dict[str, Any]
    topics: list[str]


def signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def sign_deliveries(
    domain: str,
    webhooks: Iterable[dict[str, Any]],
    announcement: Announcement,
    secret: str,
    now: str,
) -> list[tuple[dict[str, Any], Delivery]]:
    """One signed delivery per webhook subscribed to one of the announced topics."""
    body = json.dumps(announcement.payload, separators=(",", ":")).encode()
    digest = signature(body, secret)
    event_ids = {topic: str(uuid.uuid4()) for topic in announcement.topics}
    targets = []
    for webhook in webhooks:
        topic = webhook["topic"]
        if topic not in event_ids:
            continue
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": digest,
            "X-Shopify-Shop-Domain": domain,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": now,
            "X-Shopify-Event-Id": event_ids[topic],
            "X-Shopify-API-Version": webhook["api_version"],
        }
        targets.append((webhook, Delivery("POST", webhook["address"], body, headers)))
    return targets
