"""Live integrations: one provider client (own HTTP pool, own rate limiter) per integration.

Connecting verifies the credentials before anything is stored. Every call an engine makes
goes through `IntegrationManager.call`, which runs it as a task owned by that integration:
disconnecting cancels those tasks and closes the client, so its traffic stops at once,
and an AuthFailed from any call puts the integration in `error` with the provider's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx

from .clock import Clock, isoformat
from .config import Store
from .db import Database
from .db import integrations as rows
from .log import Logger
from .model import Integration
from .providers.base import Provider
from .providers.errors import AuthFailed, ProviderError, Transient
from .providers.ratelimit import RateLimiter
from .providers.registry import SPECS, InvalidSettings, build, normalize
from .secret import Secret

T = TypeVar("T")
TOUCH_EVERY = 1.0  # seconds between writes of an integration's last activity


class UnknownIntegration(LookupError):
    pass


class NotHolder(Transient):
    """Another daemon holds this integration's lease: the work is its to do (the fence
    that keeps a daemon whose lease lapsed from sending anything)."""


class ConnectRefused(Exception):
    """Connecting failed; `error` says why (InvalidSettings or the provider's ProviderError)."""

    def __init__(self, error: ProviderError | InvalidSettings) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Live:
    integration: Integration
    provider: Provider
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    touched_at: float = float("-inf")  # when last_activity was last written (monotonic)
    unreachable: str | None = None  # why its last call failed for a passing reason, if it did

    @property
    def limiter(self) -> RateLimiter:
        return self.provider.http.limiter


class IntegrationManager:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        log: Logger,
        stores: Callable[[], Mapping[str, Store]],
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.db, self.clock, self.log, self.stores = db, clock, log, stores
        self.timeout = timeout
        self.transport = transport
        self._live: dict[int, Live] = {}
        # Whether this daemon holds the integration's lease (always, on SQLite): engines
        # work only on their own, and `call` refuses work on any other.
        self.mine: Callable[[int], bool] = lambda _integration_id: True
        self.changed: Callable[[], None] = lambda: None  # connected or disconnected here
        self._refreshing = asyncio.Lock()

    def _build(self, provider: str, settings: Mapping[str, str], secret: Secret) -> Provider:
        return build(
            SPECS[provider],
            settings,
            secret.reveal(),
            self.clock,
            timeout=self.timeout,
            transport=self.transport,
        )

    async def start(self) -> None:
        for integration in await rows.live(self.db):
            if integration.secret is None:
                continue
            provider = self._build(integration.provider, integration.settings, integration.secret)
            self._live[integration.id] = Live(integration, provider)

    async def refresh(self) -> tuple[set[int], set[int]]:
        """Catch up with integrations other daemons connected, disconnected or changed
        (several daemons on one database): (added, removed)."""
        async with self._refreshing:  # asked from several places: one at a time
            return await self._refresh()

    async def _refresh(self) -> tuple[set[int], set[int]]:
        stored = {i.id: i for i in await rows.live(self.db) if i.secret is not None}
        removed = set(self._live) - set(stored)
        for integration_id in removed:
            await self._stop(integration_id)
        added = set()
        for integration_id, integration in stored.items():
            live = self._live.get(integration_id)
            if live is None:
                provider = self._build(
                    integration.provider, integration.settings, integration.secret or Secret("")
                )
                self._live[integration_id] = Live(integration, provider)
                added.add(integration_id)
            elif not self.mine(integration_id):
                live.integration = integration  # its state as its holder wrote it
        return added, removed

    async def close(self) -> None:
        for integration_id in list(self._live):
            await self._stop(integration_id)

    def list(self) -> list[Integration]:
        return [live.integration for live in self._live.values()]

    def by_callback_token(self, token: str) -> Live | None:
        for live in self._live.values():
            if hmac.compare_digest(live.integration.callback_token.encode(), token.encode()):
                return live
        return None

    def lives(self) -> tuple[Live, ...]:
        return tuple(self._live.values())

    def get(self, integration_id: int) -> Live:
        live = self._live.get(integration_id)
        if live is None:
            raise UnknownIntegration(f"no integration {integration_id}")
        return live

    async def connect(
        self, provider: str, store: str, settings: Mapping[str, Any], secret: Secret
    ) -> Integration:
        spec = SPECS[provider]
        try:
            if store not in self.stores():
                raise InvalidSettings(
                    f"no store {store!r} in the config "
                    f"(stores: {', '.join(self.stores()) or 'none'})"
                )
            clean = normalize(spec, settings)
            client = self._build(provider, clean, secret)
        except InvalidSettings as exc:
            raise ConnectRefused(exc) from None
        try:
            account = await client.verify()
        except ProviderError as exc:
            await client.aclose()
            self.log.warning(
                "connect refused by the provider", provider=provider, store=store, reason=exc.reason
            )
            raise ConnectRefused(exc) from None
        except BaseException:
            await client.aclose()
            raise
        twin = next(
            (
                live.integration
                for live in self._live.values()
                if (live.integration.provider, live.integration.store, live.integration.account)
                == (provider, store, account.name)
                and live.integration.settings.get("base_url") == clean.get("base_url")
            ),
            None,
        )
        if twin is not None:  # a second one would send every change twice
            await client.aclose()
            raise ConnectRefused(
                InvalidSettings(
                    f"{provider} account {account.name!r} is already connected to store "
                    f"{store} as integration {twin.id}"
                )
            )
        integration = await rows.create(
            self.db,
            provider=provider,
            store=store,
            account=account.name,
            settings=clean,
            secret=secret,
            callback_token=secrets.token_urlsafe(24),
            now=isoformat(self.clock.now()),
        )
        self._live[integration.id] = Live(integration, client)
        self.changed()
        self.log.info(
            "integration connected",
            integration=integration.id,
            provider=provider,
            store=store,
            account=account.name,
        )
        return integration

    async def disconnect(self, integration_id: int) -> tuple[Integration, Sequence[int]]:
        """Stop its work, then one transaction: credential wiped, row retired, its syncs
        in error. Returns the integration and those syncs. The WAL's old copy of the
        credential goes with a checkpoint; one held off by a reader is retried by the
        daemon's flush loop (and at the next start) until it completes."""
        integration = self.get(integration_id).integration
        await self._stop(integration_id)
        syncs = await rows.disconnect(self.db, integration_id, isoformat(self.clock.now()))
        purged = await self.db.checkpoint()
        self.changed()
        self.log.info(
            "integration disconnected; credentials wiped",
            integration=integration_id,
            provider=integration.provider,
            syncs_in_error=",".join(map(str, syncs)) or "none",
            wal_purged=purged,
        )
        return integration, syncs

    async def _stop(self, integration_id: int) -> None:
        live = self._live.pop(integration_id, None)
        if live is None:
            return  # stopped already (a disconnect here, then the refresh that saw it)
        for task in live.tasks:
            task.cancel()
        for task in list(live.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await live.provider.aclose()

    async def call(
        self,
        integration_id: int,
        activity: str,
        work: Callable[[Provider], Awaitable[T]],
        *,
        anywhere: bool = False,
    ) -> T:
        """Run one unit of provider work owned by the integration (cancelled on disconnect).

        Success records the activity (and clears an `error` state); AuthFailed sets
        `error` with the provider's reason. Other errors are the caller's to handle.
        Only the daemon holding the integration's lease may call, but for `anywhere`
        calls: one-off lookups a user asked this daemon for (lists, consent, a check).
        """
        live = self.get(integration_id)
        if not anywhere and not self.mine(integration_id):
            raise NotHolder(f"another daemon holds integration {integration_id}")
        task = asyncio.ensure_future(work(live.provider))
        live.tasks.add(task)
        try:
            result = await task
        except AuthFailed as exc:
            await self._set_state(integration_id, "error", exc.reason)
            raise
        except Transient as exc:
            live.unreachable = exc.reason  # readiness reports it until a call succeeds
            raise
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we are being cancelled ourselves (shutdown): let it through
            # Only the work was cancelled: the integration was disconnected under it.
            raise Transient("the integration was disconnected") from None
        finally:
            live.tasks.discard(task)
        live.unreachable = None
        await self._touched(integration_id, activity)
        return result

    async def check(self, integration_id: int) -> ProviderError | None:
        """Verify the credentials now: None when they work, else what went wrong (AuthFailed
        also puts the integration in `error`; transient trouble is only logged)."""
        try:
            await self.call(
                integration_id, "credentials verified", lambda p: p.verify(), anywhere=True
            )
        except AuthFailed as exc:
            self.log.error(
                "integration credentials rejected", integration=integration_id, reason=exc.reason
            )
            return exc
        except ProviderError as exc:
            self.log.warning(
                "integration check failed", integration=integration_id, reason=exc.reason
            )
            return exc
        return None

    async def check_loop(self, interval: Callable[[], float]) -> None:
        while True:
            await asyncio.sleep(interval())
            for integration_id in list(self._live):
                if integration_id in self._live and self.mine(integration_id):
                    await self.check(integration_id)

    async def set_state(self, integration_id: int, state: str, reason: str | None) -> None:
        """syncing / active / connected as syncs run (error is set by AuthFailed here)."""
        await self._set_state(integration_id, state, reason)

    async def _set_state(self, integration_id: int, state: str, reason: str | None) -> None:
        live = self._live.get(integration_id)
        if live is None or (live.integration.state, live.integration.reason) == (state, reason):
            return
        await rows.set_state(self.db, integration_id, state, reason, isoformat(self.clock.now()))
        live.integration = replace(live.integration, state=state, reason=reason)
        (self.log.warning if state == "error" else self.log.info)(
            "integration state changed",
            integration=integration_id,
            state=state,
            reason=reason or "",
        )

    async def _touched(self, integration_id: int, activity: str) -> None:
        live = self._live.get(integration_id)
        if live is None:
            return
        if live.integration.state == "error":
            await self._set_state(integration_id, "connected", None)
        now = isoformat(self.clock.now())
        # Kept in memory at once; written at most once a second per integration, so a
        # burst of deliveries is not also a burst of writes to show "last activity".
        mono = self.clock.monotonic()
        if mono - live.touched_at >= TOUCH_EVERY:
            live.touched_at = mono
            await rows.touch(self.db, integration_id, activity, now)
        live.integration = replace(live.integration, last_activity_at=now, last_activity=activity)
