"""One error taxonomy for every provider, so engines decide on kinds, never on HTTP codes.

Messages carry the provider's own reason (users need it to fix things) but never a
credential: the HTTP layer scrubs known secrets out of any text before raising.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base: `reason` is safe to show to a user and to log."""

    kind = "error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthFailed(ProviderError):
    """The key is wrong or was revoked: retrying cannot help, the integration needs a human."""

    kind = "auth_failed"


class CapacityExceeded(ProviderError):
    """The destination plan cannot hold more contacts."""

    kind = "capacity_exceeded"


class Transient(ProviderError):
    """Down, timed out, 5xx or garbled: worth retrying later.

    `maybe_delivered`: the request may have reached the provider (a timeout, a dropped
    connection), so a non-idempotent send must not simply be repeated.
    """

    kind = "transient"

    def __init__(self, reason: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.maybe_delivered = maybe_delivered


class RateLimited(Transient):
    """The provider kept answering 429 longer than we were willing to wait (retry later)."""

    kind = "rate_limited"

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Rejected(ProviderError):
    """The provider refused this request for a reason of its own (bad data, unknown list)."""

    kind = "rejected"
