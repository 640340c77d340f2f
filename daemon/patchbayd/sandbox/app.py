"""The whole sandbox as one Starlette app: every simulated system below its own prefix,
plus the /_sandbox control surface."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from ..clock import Clock, SystemClock
from . import benchmark, control, klaviyo, mailchimp, omnisend, salesmanago, shopify, webhook
from .system import System

DEFAULT_WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105 - public sandbox value


def build(*, webhook_secret: str = DEFAULT_WEBHOOK_SECRET, clock: Clock | None = None) -> Starlette:
    """A fresh sandbox; `clock` lets tests move rate-limit windows and timestamps."""
    clock = clock or SystemClock()
    shop = shopify.create(clock, webhook_secret)
    omni, klav, sm = omnisend.create(clock), klaviyo.create(clock), salesmanago.create(clock)
    bench, chimp, hook = benchmark.create(clock), mailchimp.create(clock), webhook.create(clock)
    systems: dict[str, System[Any]] = {
        system.name: system for system in (shop, omni, klav, sm, bench, chimp, hook)
    }
    routes: list[BaseRoute] = [
        *control.routes(systems, shop),
        shop.mount(shopify.PREFIX, shopify.endpoints(shop)),
        omni.mount(omnisend.PREFIX, omnisend.endpoints(omni)),
        klav.mount(klaviyo.PREFIX, klaviyo.endpoints(klav)),
        sm.mount(salesmanago.PREFIX, salesmanago.endpoints(sm)),
        bench.mount(benchmark.PREFIX, benchmark.endpoints(bench)),
        chimp.mount(mailchimp.PREFIX, mailchimp.endpoints(chimp)),
        hook.mount(webhook.PREFIX, webhook.endpoints(hook)),
    ]
    return Starlette(routes=routes)
