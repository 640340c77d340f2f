"""Control API for consent: a contact's state everywhere, its audit trail, the held-back list."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..db import consent as rows
from ..db import customers as tables
from ..providers.errors import ProviderError
from .errors import ApiError
from .state import parts_of


def email_of(request: Request) -> str:
    email = str(request.path_params["email"]).strip().lower()
    if "@" not in email:
        raise ApiError(400, f"not an email address: {email!r}")
    return email


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
    integrations: list[dict[str, Any]] = []
    for live in parts.integrations.lives():
        state, at = await rows.provider_state(parts.db, live.integration.id, email)
        entry: dict[str, Any] = {
            "integration": live.integration.id,
            "provider": live.integration.provider,
            "store": live.integration.store,
            "last_known": state,
            "last_known_at": at,
        }
        try:
            found = await parts.integrations.call(
                live.integration.id, "consent looked up", lambda p: p.lookup_consent(email)
            )
            entry["at_provider"] = found.state if found else "not found"
        except ProviderError as exc:
            entry["at_provider"] = f"unknown: {exc.reason}"
        integrations.append(entry)
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
