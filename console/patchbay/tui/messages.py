"""The typed messages the app's connection worker posts, and the feeds screens ask for.

The worker posts `StatusUpdated`, `ProvidersUpdated`, `LogArrived` and `Disconnected` to
the app (which shows them, and passes `Disconnected` on to the screens), and to the
screen being looked at, what its `Feed` says it shows: `IntegrationsUpdated`,
`SyncsUpdated`, `RoutesUpdated`, `DeliveriesUpdated`, `QuarantineUpdated`, or
`FeedFailed`. None of them bubble: each goes to the one node it is meant for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message

from . import records


class Disconnected(Message, bubble=False):
    """The connection to the daemon ended (or could not be made); the app retries."""

    def __init__(self, socket: str, reason: str) -> None:
        super().__init__()
        self.socket, self.reason = socket, reason


class StatusUpdated(Message, bubble=False):
    def __init__(self, status: records.StatusSummary) -> None:
        super().__init__()
        self.status = status


class ProvidersUpdated(Message, bubble=False):
    """What can be connected, and what each provider asks for (once per connection)."""

    def __init__(self, providers: tuple[records.ProviderSpec, ...]) -> None:
        super().__init__()
        self.providers = providers


class LogArrived(Message, bubble=False):
    def __init__(self, event: records.LogEvent) -> None:
        super().__init__()
        self.event = event


class FeedUpdate(Message, bubble=False):
    """What a screen's feed delivers (one subclass per kind of list)."""


class IntegrationsUpdated(FeedUpdate, bubble=False):
    def __init__(self, cards: tuple[records.IntegrationCard, ...]) -> None:
        super().__init__()
        self.cards = cards

    @classmethod
    def from_json(cls, data: Any) -> IntegrationsUpdated:
        return cls(records.integrations_from_json(data))


class IntegrationDetailUpdated(FeedUpdate, bubble=False):
    def __init__(self, detail: records.IntegrationDetail) -> None:
        super().__init__()
        self.detail = detail

    @classmethod
    def from_json(cls, data: Any) -> IntegrationDetailUpdated:
        return cls(records.integration_detail_from_json(data))


class SyncsUpdated(FeedUpdate, bubble=False):
    def __init__(self, syncs: tuple[records.SyncRow, ...]) -> None:
        super().__init__()
        self.syncs = syncs

    @classmethod
    def from_json(cls, data: Any) -> SyncsUpdated:
        return cls(records.syncs_from_json(data))


class SyncDetailUpdated(FeedUpdate, bubble=False):
    def __init__(self, detail: records.SyncDetail) -> None:
        super().__init__()
        self.detail = detail

    @classmethod
    def from_json(cls, data: Any) -> SyncDetailUpdated:
        return cls(records.sync_detail_from_json(data))


class RoutesUpdated(FeedUpdate, bubble=False):
    def __init__(self, routes: tuple[records.RouteRow, ...]) -> None:
        super().__init__()
        self.routes = routes

    @classmethod
    def from_json(cls, data: Any) -> RoutesUpdated:
        return cls(records.routes_from_json(data))


class DeliveriesUpdated(FeedUpdate, bubble=False):
    def __init__(self, deliveries: tuple[records.DeliveryRow, ...]) -> None:
        super().__init__()
        self.deliveries = deliveries

    @classmethod
    def from_json(cls, data: Any) -> DeliveriesUpdated:
        return cls(records.deliveries_from_json(data))


class QuarantineUpdated(FeedUpdate, bubble=False):
    def __init__(self, quarantine: records.Quarantine) -> None:
        super().__init__()
        self.quarantine = quarantine

    @classmethod
    def from_json(cls, data: Any) -> QuarantineUpdated:
        return cls(records.quarantine_from_json(data))


class StoresUpdated(FeedUpdate, bubble=False):
    def __init__(self, stores: tuple[records.StoreRow, ...]) -> None:
        super().__init__()
        self.stores = stores

    @classmethod
    def from_json(cls, data: Any) -> StoresUpdated:
        return cls(records.stores_from_json(data))


class OrdersUpdated(FeedUpdate, bubble=False):
    def __init__(self, reports: tuple[records.OrderReport, ...]) -> None:
        super().__init__()
        self.reports = reports

    @classmethod
    def from_json(cls, data: Any) -> OrdersUpdated:
        return cls(records.orders_from_json(data))


class FeedFailed(Message, bubble=False):
    """The daemon answered a feed's request with an error, or with what the console
    cannot read; the screen keeps what it showed (stale beats empty)."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass(frozen=True)
class Feed:
    """What a screen shows from the daemon: the app's worker GETs `path` with `params`
    every `every` seconds while the screen is in front (or sooner when asked to), and
    posts `parse(answer)` to it."""

    path: str
    parse: Callable[[Any], FeedUpdate]
    every: float = 2.0
    params: tuple[tuple[str, Any], ...] = ()


class RequestFailed(Exception):
    """An action or a look-up the app made for a screen failed: the daemon said no
    (`status` is its HTTP status), could not be reached, or answered what the console
    cannot read. `message` is what to show."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status = message, status
