"""Shopify-style cursor paging: rows ordered by id, an opaque page_info naming the last id
seen (and the filter in force, which is why a page_info may not be combined with filters)."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable
from typing import Any


def encode(last_id: int, filters: dict[str, str]) -> str:
    raw = json.dumps({"last_id": last_id, "filters": filters}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[int, dict[str, str]] | None:
    """(last id, filters), or None for a cursor we did not issue."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("last_id"), int)
        and isinstance(data.get("filters"), dict)
    ):
        return None
    return data["last_id"], data["filters"]


def page(
    ids: list[int],
    rows: dict[int, dict[str, Any]],
    after: int,
    limit: int,
    keep: Callable[[dict[str, Any]], bool],
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` kept rows with an id above `after`, and whether more kept rows follow."""
    found: list[dict[str, Any]] = []
    for index in range(bisect.bisect_right(ids, after), len(ids)):
        row = rows[ids[index]]
        if keep(row):
            if len(found) == limit:
                return found, True
            found.append(row)
    return found, False
