"""What each provider needs to be connected, and how to build its client.

The CLI, the console's connect dialog and the control API all read these specs, so a
provider's options are declared once, here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..clock import Clock
from ..config import ConfigError, parse_duration
from .base import Provider
from .benchmark import Benchmark
from .http import ProviderHttp
from .klaviyo import Klaviyo
from .mailchimp import Mailchimp, data_centre
from .omnisend import Omnisend
from .ratelimit import Limit, RateLimiter, parse_limit
from .salesmanago import SalesManago
from .webhook import Webhook


class InvalidSettings(ValueError):
    """A connect request that cannot work whatever the provider says (missing option ...)."""


@dataclass(frozen=True)
class Option:
    name: str  # settings key; the CLI flag is --name-with-dashes
    help: str
    required: bool = False
    default: str | None = None


@dataclass(frozen=True)
class Auth:
    """How the secret travels on every request: in a header (its name and value, with
    {secret} in it) or as HTTP Basic (the user name). Neither: the provider signs with it
    (SALESmanago's sha, the webhook's HMAC)."""

    header: str | None = None
    value: str = "{secret}"
    basic_user: str | None = None

    def headers(self, secret: str) -> dict[str, str]:
        return {self.header: self.value.format(secret=secret)} if self.header else {}

    def basic(self, secret: str) -> tuple[str, str] | None:
        return (self.basic_user, secret) if self.basic_user else None


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    title: str
    secret_label: str
    options: tuple[Option, ...]
    default_limit: Limit | None
    has_lists: bool
    make: Callable[[ProviderHttp, str, Mapping[str, str], Clock], Provider]
    base_url: Callable[[Mapping[str, str], str], str]
    auth: Auth = Auth()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "secret": self.secret_label,
            "has_lists": self.has_lists,
            "default_rate_limit": str(self.default_limit) if self.default_limit else "none",
            "options": [
                {"name": o.name, "help": o.help, "required": o.required, "default": o.default}
                for o in self.options
            ],
        }


COMMON = (
    Option("base_url", "API address (the sandbox's, or a proxy's)"),
    Option("rate_limit", "requests per window, e.g. 400/min; 'none' disables"),
    Option(
        "opt_out_guard",
        "store-side opt-outs sooner than this after registration are held back",
        default="15m",
    ),
    Option(
        "fetch_on_register",
        "on: look new customers without consent up at the provider",
        default="on",
    ),
)


def _fixed(url: str) -> Callable[[Mapping[str, str], str], str]:
    return lambda settings, secret: url


def _salesmanago_url(settings: Mapping[str, str], secret: str) -> str:
    server = settings.get("server") or "www"
    if not re.fullmatch(r"[a-z0-9-]+", server):
        raise InvalidSettings(f"server must be a SALESmanago server name like app3, got {server!r}")
    return f"https://{server}.salesmanago.com"


def _mailchimp_url(settings: Mapping[str, str], secret: str) -> str:
    dc = data_centre(secret)
    if not dc:
        raise InvalidSettings(
            "a Mailchimp key ends in its data centre (…-us21); this one "
            "does not, so give --base-url"
        )
    return f"https://{dc}.api.mailchimp.com/3.0"


def _webhook_url(settings: Mapping[str, str], secret: str) -> str:
    raise InvalidSettings("the webhook provider needs --base-url (the URL to POST to)")


SPECS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            "omnisend",
            "Omnisend",
            "API key",
            COMMON,
            Limit(400, 60.0),
            False,
            lambda http, secret, s, clock: Omnisend(http),
            _fixed("https://api.omnisend.com"),
            Auth(header="X-API-KEY"),
        ),
        ProviderSpec(
            "klaviyo",
            "Klaviyo",
            "private API key",
            COMMON,
            Limit(750, 60.0, burst=75),
            True,
            lambda http, secret, s, clock: Klaviyo(http),
            _fixed("https://a.klaviyo.com"),
            Auth(header="Authorization", value="Klaviyo-API-Key {secret}"),
        ),
        ProviderSpec(
            "salesmanago",
            "SALESmanago",
            "API secret",
            (
                *COMMON,
                Option("client_id", "SALESmanago client id", required=True),
                Option("owner", "email of the account user that owns the contacts", required=True),
                Option("server", "SALESmanago server, e.g. app3", default="www"),
            ),
            Limit(120, 60.0),
            False,
            lambda http, secret, s, clock: SalesManago(
                http, client_id=s["client_id"], api_secret=secret, owner=s["owner"], clock=clock
            ),
            _salesmanago_url,
        ),
        ProviderSpec(
            "benchmark",
            "Benchmark Email",
            "AuthToken",
            COMMON,
            Limit(3600, 3600.0, burst=10),
            True,
            lambda http, secret, s, clock: Benchmark(http),
            _fixed("https://clientapi.benchmarkemail.com"),
            Auth(header="AuthToken"),
        ),
        ProviderSpec(
            "mailchimp",
            "Mailchimp",
            "API key",
            COMMON,
            Limit(600, 60.0, concurrency=10),
            True,
            lambda http, secret, s, clock: Mailchimp(http),
            _mailchimp_url,
            Auth(basic_user="patchbay"),
        ),
        ProviderSpec(
            "webhook",
            "Webhook",
            "signing secret",
            COMMON,
            None,
            False,
            lambda http, secret, s, clock: Webhook(http, secret, clock),
            _webhook_url,
        ),
    )
}


def normalize(spec: ProviderSpec, settings: Mapping[str, Any]) -> dict[str, str]:
    """Known options only, required ones present, defaults filled: the stored settings."""
    known = {o.name: o for o in spec.options}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise InvalidSettings(f"{spec.name} has no option {unknown[0]!r}")
    result: dict[str, str] = {}
    for option in spec.options:
        value = settings.get(option.name)
        if value in (None, ""):
            if option.required:
                raise InvalidSettings(
                    f"{spec.name} needs --{option.name.replace('_', '-')} ({option.help})"
                )
            if option.default is not None:
                result[option.name] = option.default
            continue
        if not isinstance(value, str):
            raise InvalidSettings(f"{option.name} must be a string")
        result[option.name] = value.strip()
    if result.get("fetch_on_register") not in (None, "on", "off"):
        raise InvalidSettings("fetch_on_register must be on or off")
    if "opt_out_guard" in result:
        try:
            parse_duration(result["opt_out_guard"], "option", "opt_out_guard")
        except ConfigError as exc:
            raise InvalidSettings(f"opt_out_guard: {exc.reason}") from None
    if "rate_limit" in result:
        try:
            parse_limit(result["rate_limit"])
        except ValueError as exc:
            raise InvalidSettings(str(exc)) from None
    base = result.get("base_url")
    if base is not None and not re.match(r"https?://[^\s/]+", base):
        raise InvalidSettings(f"base_url must be an http(s) URL, got {base!r}")
    return result


def limit_for(spec: ProviderSpec, settings: Mapping[str, str]) -> Limit | None:
    text = settings.get("rate_limit")
    if not text:
        return spec.default_limit
    limit = parse_limit(text)
    if limit and spec.default_limit and spec.default_limit.concurrency:
        limit = Limit(limit.requests, limit.per_seconds, concurrency=spec.default_limit.concurrency)
    return limit


def build(
    spec: ProviderSpec,
    settings: Mapping[str, str],
    secret: str,
    clock: Clock,
    *,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Provider:
    """A ready client; its RateLimiter belongs to this integration alone."""
    base_url = settings.get("base_url") or spec.base_url(settings, secret)
    http = ProviderHttp(
        spec.title,
        base_url,
        limiter=RateLimiter(limit_for(spec, settings), clock),
        secrets=[secret],
        headers=spec.auth.headers(secret),
        auth=spec.auth.basic(secret),
        timeout=timeout,
        transport=transport,
    )
    return spec.make(http, secret, settings, clock)
