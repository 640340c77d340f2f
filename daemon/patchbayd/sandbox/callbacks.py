"""Consent changes made at a provider, and the opt-in/opt-out callbacks that announce them.

Real accounts configure these URLs in a settings page; the sandbox takes them over its
control surface. The URL carries `$email$` (SALESmanago's convention), replaced by the
url-encoded address, so one scheme serves every provider; with a `secret` registered,
`$key$` becomes SALESmanago's guard, sha1(email + secret).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..clock import isoformat
from .deliver import Delivery

METHODS = ("GET", "POST")


@dataclass
class CallbackSettings:
    """One account has one opt-in and one opt-out URL, as in the providers' settings pages."""

    opt_in: str | None = None
    opt_out: str | None = None
    method: str = "GET"
    secret: str | None = None  # for $key$ = sha1(email + secret); never shown in state

    def as_dict(self) -> dict[str, Any]:
        return {
            "opt_in": self.opt_in,
            "opt_out": self.opt_out,
            "method": self.method,
            "secret": "set" if self.secret else None,
        }

    @classmethod
    def parse(cls, body: object) -> CallbackSettings:
        if not isinstance(body, dict):
            raise ValueError("callbacks must be a JSON object")
        unknown = sorted(set(body) - {"opt_in", "opt_out", "method", "secret"})
        if unknown:
            raise ValueError(f"unknown field: {', '.join(unknown)}")
        urls = {name: body.get(name) for name in ("opt_in", "opt_out")}
        for name, url in urls.items():
            if url is not None and not (
                isinstance(url, str) and url.startswith(("http://", "https://"))
            ):
                raise ValueError(f"{name} must be an http(s) URL or null")
        method = body.get("method", "GET")
        if method not in METHODS:
            raise ValueError("method must be GET or POST")
        secret = body.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise ValueError("secret must be a string")
        return cls(opt_in=urls["opt_in"], opt_out=urls["opt_out"], method=method, secret=secret)

    def deliveries(self, email: str, subscribed: bool, at: datetime) -> list[Delivery]:
        template = self.opt_in if subscribed else self.opt_out
        if template is None:
            return []
        url = template.replace("$email$", quote(email, safe=""))
        if self.secret is not None:
            key = hashlib.sha1((email + self.secret).encode()).hexdigest()
            url = url.replace("$key$", key)
        if self.method == "GET":
            return [Delivery("GET", url)]
        state = "subscribed" if subscribed else "unsubscribed"
        body = json.dumps({"email": email, "state": state, "at": isoformat(at)}).encode()
        return [Delivery("POST", url, body, {"Content-Type": "application/json"})]


class ProviderState(ABC):
    """A marketing provider's account: it holds consent and announces changes to it."""

    def __init__(self) -> None:
        self.callbacks = CallbackSettings()

    def reset(self) -> None:
        self.callbacks = CallbackSettings()

    @abstractmethod
    def snapshot(self) -> dict[str, Any]: ...

    @abstractmethod
    def set_consent(self, email: str, subscribed: bool, at: datetime) -> None:
        """Record a change made at the provider itself (a form, an unsubscribe link)."""
