"""Where a handler finds the daemon: `build()` keeps the frozen Components on the app's
state, and every handler (a plain module-level function) reads them back per request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from ..components import Components


def parts_of(request: Request) -> Components:
    parts: Components = request.app.state.parts
    return parts
