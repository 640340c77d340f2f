"""Control API for consent: a contact's state everywhere, its audit trail, the held-back list."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import consent as rows
from ..db import customers as tables
from ..providers.errors import ProviderError
from .errors import ApiError
from .state import parts_of

if TYPE_CHECKING:
    from ..components import Components
    from ..integrations import Live


def email_of(request: Request) -> str:
    email = str(request.path_params["email"]).strip().lower()
    if "@" not in email:
        raise ApiError(400, f"not an email address: {email!r}")
    return email


LOOKUP_DEADLINE = 15.0  # each provider's answer; together they take as long as the slowest


async def at_provider(parts: Components, live: Live, email: str) -> dict[str, Any]:
    """What we last knew of `email` at one integration, and what its provider says now
    (asked at once for every integration, so a slow one costs its own time only)."""
    integration = live.integration
    state, at = await rows.provider_state(parts.db, integration.id, email)
    entry: dict[str, Any] = {
        "integration": integration.id,
        "provider": integration.provider,
        "store": integration.store,
        "last_known": state,
        "last_known_at": at,
    }
    try:
        found = await asyncio.wait_for(
            parts.integrations.call(
                integration.id,
                "consent looked up",
                lambda p: p.lookup_consent(email),
                anywhere=True,
            ),
            LOOKUP_DEADLINE,
        )
        entry["at_provider"] = found.state if found else "not found"
    except TimeoutError:
        entry["at_provider"] = f"unknown: no answer within {LOOKUP_DEADLINE:g} s"
    except ProviderError as exc:
        entry["at_provider"] = f"unknown: {exc.reason}"
    return entry


async def show(request: Request) -> Response:
    parts = parts_of(request)
    email = email_of(request)
    stores = []
    for name in parts.config.stores:
        for customer in await tables.find(parts.db, name, email=email, limit=1):
            stores.append(
                {
                    "store": name,
                    "customer": customer.id,
                    "state": customer.email_consent,
                    "at": customer.email_consent_at,
                    "registered_at": customer.created_at,
                }
            )
    lives = parts.integrations.lives()
    integrations = list(await asyncio.gather(*(at_provider(parts, live, email) for live in lives)))
    if not stores and not integrations:
        raise ApiError(404, f"no customer {email} in any store")
    return JSONResponse({"email": email, "stores": stores, "integrations": integrations})


async def history(request: Request) -> Response:
    return JSONResponse(
        {
            "email": email_of(request),
            "history": await rows.history(parts_of(request).db, email_of(request)),
        }
    )


async def suppressed(request: Request) -> Response:
    return JSONResponse({"suppressed": await rows.suppressed(parts_of(request).db)})


ROUTES = [
    Route("/v1/consent/suppressed", suppressed),
    Route("/v1/consent/{email}", show),
    Route("/v1/consent/{email}/history", history),
]
