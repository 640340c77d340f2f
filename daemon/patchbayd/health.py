"""Liveness and readiness, decided apart.

`/healthz` answers whether the process and its database work (restart it if not);
`/readyz`, whether it is doing its job: every store reachable and every integration
working. A load balancer or an operator reads the reasons; `patchbay status` and the
console show the same list as "degraded".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def degraded(
    database_ok: bool,
    stores: Iterable[Mapping[str, Any]],
    integrations: Iterable[tuple[int, str, str, str | None, str | None]],
) -> list[str]:
    """Why the daemon is not ready, or []: stores as `status` shows them (name, state,
    reason); integrations as (id, provider, state, state reason, unreachable reason)."""
    reasons = [] if database_ok else ["database unusable"]
    for store in stores:
        if store.get("state") == "error":
            reasons.append(f"store {store['name']}: {store.get('reason') or 'unreachable'}")
        elif store.get("state") == "connecting":
            reasons.append(f"store {store['name']}: not connected yet")
    for integration_id, provider, state, reason, unreachable in integrations:
        if state == "error":
            reasons.append(f"integration {integration_id} ({provider}): {reason or 'error'}")
        elif unreachable:
            reasons.append(f"integration {integration_id} ({provider}): {unreachable}")
    return reasons
