"""What the daemon is made of, as the web layer sees it: built once by the service, in
start order (database -> integrations -> engines -> inbox -> stores), then handed to the
control and public apps. The handlers read parts from here; they never see the service
that runs them, so the web layer can be read (and tested) without the process around it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .bus import Bus
from .clock import Clock
from .config import Config
from .db import Database
from .engine.orders import OrderExporter
from .engine.outbox import Outbox
from .engine.processor import InboxProcessor
from .engine.reconcile import ConsentEngine
from .engine.routebook import RouteBook
from .engine.sync import SyncEngine
from .intake.writer import InboxWriter
from .integrations import IntegrationManager
from .log import Logger, LogSink
from .metrics import Metrics


@dataclass(frozen=True)
class Components:
    clock: Clock
    sink: LogSink
    log: Logger
    bus: Bus
    metrics: Metrics
    db: Database
    integrations: IntegrationManager
    syncs: SyncEngine
    outbox: Outbox
    orders: OrderExporter
    routes: RouteBook
    inbox_processor: InboxProcessor
    inbox: InboxWriter
    consent: ConsentEngine
    current_config: Callable[[], Config]  # a reload swaps the config; read it per request
    status: Callable[[], Awaitable[dict[str, Any]]]
    readiness: Callable[[], Awaitable[list[str]]]  # why not ready (degraded), or []
    refresh_metrics: Callable[[], Awaitable[object]]  # the figures read at each scrape
    current_public_url: Callable[[], str]

    @property
    def config(self) -> Config:
        return self.current_config()

    @property
    def public_url(self) -> str:
        return self.current_public_url()
