"""`patchbay console`: a Textual app over the control socket.

The app owns the connection; nothing else opens a client. Its worker reads the status
and the providers, follows the event log, GETs the feed of the screen in front (each
screen says which, with `feed()`), and posts what it reads as typed messages
(`messages.py`); when the daemon goes away it posts why and retries until it is back.
Screens render those messages, and what changes something (connect, check, replay, …)
goes through `request()`, on the app's client. Screens only render.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

import httpx
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Header

from ..client import ApiFailure, ControlClient, DaemonSlow, DaemonUnreachable
from . import records
from .messages import (
    Disconnected,
    Feed,
    FeedFailed,
    FeedUpdate,
    LogArrived,
    ProvidersUpdated,
    RequestFailed,
    StatusUpdated,
)
from .screens.live import LiveScreen, footer
from .widgets.log_pane import LogPane
from .widgets.status_panel import StatusPanel

STATUS_EVERY = 3.0
IDLE_CHECK = 1.0  # how often the feed loop looks again when the screen in front has none
AGES_EVERY = 15.0  # an unchanged feed is posted again this often: the "3m ago" move on
READ_TIMEOUT = 5.0  # status, log, feeds
CALL_TIMEOUT = 30.0  # actions and look-ups, some of which wait for a provider

T = TypeVar("T")


class Client(Protocol):
    """What the app needs of a client: `ControlClient`, or a fake in tests."""

    async def __aenter__(self) -> Client: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def get(self, path: str, **params: Any) -> Any: ...

    async def post(self, path: str, body: Any = None) -> Any: ...

    async def delete(self, path: str) -> Any: ...

    def stream(self, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]: ...


def control_client(socket: Path, timeout: float) -> Client:
    return ControlClient(socket, timeout=timeout)


def same_status(new: records.StatusSummary, old: records.StatusSummary | None) -> bool:
    """Nothing to repaint: equal but for the uptime, which the panel shows to the minute."""
    return old is not None and replace(new, uptime_seconds=new.uptime_seconds // 60) == replace(
        old, uptime_seconds=old.uptime_seconds // 60
    )


def _failure(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


class PatchbayApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "patchbay"
    BINDINGS = [
        Binding("q", "quit", "Quit", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("i", "integrations", "Integrations"),
        Binding("s", "syncs", "Syncs"),
        Binding("c", "consent", "Consent"),
        Binding("r", "routes", "Routes"),
        Binding("d", "deliveries", "Deliveries"),
        Binding("n", "inbox", "Inbox"),
        Binding("t", "stores", "Stores"),
        Binding("o", "orders", "Orders"),
        Binding("l", "cycle_level", "Log level", show=False),
    ]

    def __init__(
        self,
        socket: Path,
        reconnect_delay: float = 1.0,
        *,
        open_client: Callable[[Path, float], Client] = control_client,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.now = now  # for "3m ago": tests give a fixed time
        self.socket = socket
        self.reconnect_delay = reconnect_delay
        self.open_client = open_client
        self.connected = False
        self.status: records.StatusSummary | None = None  # as last read
        self.providers: dict[str, records.ProviderSpec] = {}
        self.disconnect_reason = "connecting …"
        self._calls: Client | None = None
        self._wake = asyncio.Event()
        self._last_event_id = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusPanel(id="status")
        yield LogPane(id="log")
        yield footer()

    def on_mount(self) -> None:
        self.query_one(StatusPanel).show_disconnected(str(self.socket), "connecting …")
        self.run_worker(self._watch_daemon(), exclusive=True, group="connection")

    # -- screens ---------------------------------------------------------------------

    def _show(self, kind: type[Screen[Any]], make: Callable[[], Screen[Any]]) -> None:
        """Switch to a screen: what was open above the main screen (another screen, a
        detail opened from it, a dialog) is closed first, so screens never pile up and
        esc always leads back to the main screen."""
        if isinstance(self.screen, kind):
            return
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(make())

    def action_integrations(self) -> None:
        from .screens.integrations import IntegrationsScreen

        self._show(IntegrationsScreen, IntegrationsScreen)

    def action_syncs(self) -> None:
        from .screens.syncs import SyncsScreen

        self._show(SyncsScreen, SyncsScreen)

    def action_consent(self) -> None:
        from .screens.consent import ConsentScreen

        self._show(ConsentScreen, ConsentScreen)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):  # over the screen it explains
            self.push_screen(HelpScreen(self.screen, list(self.BINDINGS)))

    def action_routes(self) -> None:
        from .screens.routes import RoutesScreen

        self._show(RoutesScreen, RoutesScreen)

    def action_deliveries(self) -> None:
        from .screens.deliveries import DeliveriesScreen

        self._show(DeliveriesScreen, DeliveriesScreen)

    def action_inbox(self) -> None:
        from .screens.inbox import InboxScreen

        self._show(InboxScreen, InboxScreen)

    def action_orders(self) -> None:
        from .screens.orders import OrdersScreen

        self._show(OrdersScreen, OrdersScreen)

    def action_stores(self) -> None:
        from .screens.stores import StoresScreen

        self._show(StoresScreen, StoresScreen)

    def action_cycle_level(self) -> None:
        self.query_one(LogPane).cycle_level()

    # -- what the worker posts -----------------------------------------------------------

    def on_status_updated(self, message: StatusUpdated) -> None:
        self.status = message.status
        self.query_one(StatusPanel).show_status(message.status)
        self.sub_title = f"{message.status.state} · {message.status.listen}"

    def on_providers_updated(self, message: ProvidersUpdated) -> None:
        self.providers = {p.name: p for p in message.providers}

    def on_log_arrived(self, message: LogArrived) -> None:
        self.query_one(LogPane).add_event(message.event)

    def on_disconnected(self, message: Disconnected) -> None:
        self.sub_title = "disconnected"
        self.query_one(StatusPanel).show_disconnected(message.socket, message.reason)
        for screen in self.screen_stack[1:]:
            screen.post_message(Disconnected(message.socket, message.reason))

    # -- for screens: actions, look-ups, a feed now ------------------------------------

    def refresh_feed(self) -> None:
        """GET the feed of the screen in front now (after an action, a new filter)."""
        self._wake.set()

    @overload
    async def request(self, method: str, path: str, *, body: Any = None) -> None: ...

    @overload
    async def request(
        self, method: str, path: str, *, body: Any = None, parse: Callable[[Any], T]
    ) -> T: ...

    async def request(
        self, method: str, path: str, *, body: Any = None, parse: Callable[[Any], Any] | None = None
    ) -> Any:
        """GET, POST or DELETE `path` on the app's client; the answer through `parse`.
        Raises RequestFailed with what to show when it fails, or when not connected."""
        client = self._calls
        if client is None:
            raise RequestFailed(f"not connected to patchbayd: {self.disconnect_reason}")
        try:
            if method == "GET":
                answer = await client.get(path)
            elif method == "POST":
                answer = await client.post(path, body)
            elif method == "DELETE":
                answer = await client.delete(path)
            else:
                raise ValueError(f"no such method here: {method}")
            return None if parse is None else parse(answer)
        except ApiFailure as exc:
            raise RequestFailed(exc.message, exc.status) from None
        except (DaemonUnreachable, DaemonSlow, httpx.HTTPError) as exc:
            raise RequestFailed(_failure(exc)) from None
        except records.BadRecord as exc:
            raise RequestFailed(f"the daemon's answer to {path} could not be read: {exc}") from None

    # -- the connection worker --------------------------------------------------------------

    async def _watch_daemon(self) -> None:
        while True:
            reason = "the daemon closed the connection"
            try:
                async with (
                    self.open_client(self.socket, READ_TIMEOUT) as reads,
                    self.open_client(self.socket, CALL_TIMEOUT) as calls,
                ):
                    await self._follow(reads, calls)
            except DaemonUnreachable as exc:
                reason = exc.reason
            except (ApiFailure, DaemonSlow, httpx.HTTPError, records.BadRecord) as exc:
                reason = _failure(exc)
            news = self.connected or reason != self.disconnect_reason
            self.connected = False
            self._calls = None
            self.disconnect_reason = reason
            if news:  # a retry that fails as the last one did says nothing new
                self.post_message(Disconnected(str(self.socket), reason))
            await asyncio.sleep(self.reconnect_delay)

    async def _follow(self, reads: Client, calls: Client) -> None:
        status = records.status_from_json(await reads.get("/v1/status"))
        try:
            providers = records.providers_from_json(await reads.get("/v1/providers"))
        except (ApiFailure, records.BadRecord):
            providers = ()  # the connect dialog says so; everything else works
        self._calls = calls
        self.connected = True
        self.post_message(StatusUpdated(status))
        self.post_message(ProvidersUpdated(providers))
        self.refresh_feed()  # the screen in front may have been waiting for the daemon
        tasks = [
            asyncio.create_task(self._poll_status(reads)),
            asyncio.create_task(self._feed_screens(reads)),
        ]
        try:
            async for raw in reads.stream(
                "/v1/log", follow=1, backlog=200, after=self._last_event_id
            ):
                event = self._event(raw)
                if isinstance(raw, dict) and raw.get("kind") == "progress":
                    continue  # the bars show progress (syncs, orders): not a log line a second
                self.post_message(LogArrived(event))
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _event(self, raw: Any) -> records.LogEvent:
        try:
            event = records.log_event_from_json(raw)
        except records.BadRecord as exc:  # shown, not dropped: the log is for finding out
            return records.LogEvent(
                id=self._last_event_id,
                level="warning",
                component="console",
                message=f"an event the console could not read: {exc}",
            )
        self._last_event_id = event.id
        return event

    async def _poll_status(self, reads: Client) -> None:
        while True:
            await asyncio.sleep(STATUS_EVERY)
            try:
                status = records.status_from_json(await reads.get("/v1/status"))
            except (DaemonUnreachable, DaemonSlow, ApiFailure, httpx.HTTPError, records.BadRecord):
                continue  # the log stream ending is what says the daemon is gone
            if not same_status(status, self.status):
                self.post_message(StatusUpdated(status))

    def _front(self) -> Screen[Any]:
        """The screen being looked at: the top one, or the one under a dialog."""
        stack: list[Screen[Any]] = self.screen_stack
        return next((s for s in reversed(stack) if not isinstance(s, ModalScreen)), stack[-1])

    async def _feed_screens(self, reads: Client) -> None:
        """GET the feed of the screen in front every `feed.every` seconds, at once when
        the screen or its feed changed or `refresh_feed()` asked, and post the result to
        that screen (if it still wants it)."""
        last: tuple[Screen[Any], Feed, float] | None = None
        posted: tuple[Screen[Any], Feed, Any, float] | None = None  # and the answer, when
        while True:
            screen = self._front()
            feed = screen.feed() if isinstance(screen, LiveScreen) else None
            wait = IDLE_CHECK
            if feed is not None:
                same = last is not None and last[0] is screen and last[1] == feed
                age = time.monotonic() - last[2] if last is not None and same else math.inf
                if age >= feed.every or self._wake.is_set():
                    asked = self._wake.is_set()
                    self._wake.clear()
                    raw, message = await self._read_feed(reads, feed)
                    now = time.monotonic()
                    # An answer like the last one posted is not posted again (a repaint
                    # costs CPU); unless asked for, or the ages it shows are getting old.
                    repeat = (
                        not asked
                        and raw is not None
                        and posted is not None
                        and posted[:3] == (screen, feed, raw)
                        and now - posted[3] < AGES_EVERY
                    )
                    if not repeat and isinstance(screen, LiveScreen) and screen.feed() == feed:
                        screen.post_message(message)
                        posted = (screen, feed, raw, now)
                    last, age = (screen, feed, now), 0.0
                wait = min(IDLE_CHECK, feed.every - age)
            else:
                self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.01))

    @staticmethod
    async def _read_feed(reads: Client, feed: Feed) -> tuple[Any, FeedUpdate | FeedFailed]:
        """The answer as it came (None when it failed) and what to post for it."""
        try:
            raw = await reads.get(feed.path, **dict(feed.params))
        except (ApiFailure, DaemonUnreachable, DaemonSlow, httpx.HTTPError) as exc:
            return None, FeedFailed(_failure(exc))
        try:
            return raw, feed.parse(raw)
        except records.BadRecord as exc:
            message = f"the daemon's answer to {feed.path} could not be read: {exc}"
            return None, FeedFailed(message)
