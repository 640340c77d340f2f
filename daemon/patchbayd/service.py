"""Builds the daemon's components and runs them in one anyio task group.

Start order: state dir + lock -> database -> bus history -> sockets -> servers -> READY=1.
Stop order is the reverse, and each step is bounded, so SIGTERM finishes within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import anyio
import uvicorn
from anyio.abc import TaskStatus

from . import __version__, health, listeners, statedir
from . import config as config_mod
from .bus import Bus
from .clock import Clock, SystemClock, isoformat, parse_time
from .cluster import Cluster
from .cluster_work import ClusterWork
from .components import Components
from .config import Config, ConfigError
from .db import Database, event_log
from .db import customers as customer_rows
from .db import inbox as inbox_rows
from .db import outbox as outbox_rows
from .engine.orders import OrderExporter
from .engine.outbox import Backoff, Outbox
from .engine.processor import InboxProcessor
from .engine.reconcile import ConsentEngine
from .engine.routebook import Installed, RouteBook
from .engine.sync import SyncEngine
from .intake.writer import InboxWriter
from .integrations import IntegrationManager
from .log import Logger, LogSink, Sampler, bridge_stdlib
from .metrics import Metrics
from .metrics import install as install_metrics
from .providers import http as provider_http
from .stores.clients import StoreClients
from .stores.watch import StoreWatcher
from .stores.writer import StoreWriter
from .systemd import Notifier
from .web import control, public
from .web.connections import ConnectionGuard, descriptor_room

FLUSH_SECONDS = 0.25
PRUNE_SECONDS = 600.0
DELIVERED_KEPT_DAYS = 7  # delivered deliveries are kept this long (dead ones until dealt with)
SHUTDOWN_GRACE_SECONDS = 3


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the service owns SIGTERM/SIGINT/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Service:
    def __init__(
        self,
        config: Config,
        *,
        sink: LogSink,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        reload_config: Callable[[], Config] | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.notifier = notifier or Notifier()
        self.clock = clock or SystemClock()
        self.reload_config = reload_config
        self.log = Logger(sink, "daemon")
        self.bus = Bus()
        self.started_at = self.clock.now()
        self._started_mono = self.clock.monotonic()
        self.metrics = Metrics(self.uptime, sink.counts, clock=self.clock)
        install_metrics(self.metrics)  # what the engines count into
        self.state = "starting"
        self.listen_address = str(config.listen)
        self._stop = asyncio.Event()
        self._db: Database | None = None
        self._integrations: IntegrationManager | None = None
        self._stores: StoreWatcher | None = None
        self._inbox: InboxWriter | None = None
        self._processor: InboxProcessor | None = None
        self._routes: RouteBook | None = None
        self._outbox: Outbox | None = None
        self.outbox_depth: tuple[int, float] = (0, 0.0)  # for /metrics, refreshed there
        self.connections = ConnectionGuard(
            min(config.max_connections, descriptor_room()),
            config.header_timeout,
            config.body_timeout,
            on_event=self._connection_event,
        )
        self._connection_log = Sampler(self.clock)
        self.metrics.watch_connections(self.connections.public)
        self._syncs: SyncEngine | None = None
        self._orders: OrderExporter | None = None
        self._consent: ConsentEngine | None = None
        self._cluster: Cluster | None = None
        self._work: ClusterWork | None = None

    @property
    def db(self) -> Database:
        assert self._db is not None, "database not open yet"
        return self._db

    @property
    def cluster(self) -> Cluster:
        assert self._cluster is not None, "cluster not joined yet"
        return self._cluster

    @property
    def work(self) -> ClusterWork:
        assert self._work is not None, "cluster work not bound yet"
        return self._work

    def _leases_wanted(self) -> set[str]:
        """Every lease there is work for: the inbox, each Shopify store, each integration."""
        return (
            {"inbox"}
            | {f"store:{name}" for name, s in self.config.stores.items() if s.kind == "shopify"}
            | {f"integration:{i.id}" for i in self.integrations.list()}
        )

    @property
    def integrations(self) -> IntegrationManager:
        assert self._integrations is not None, "integrations not started yet"
        return self._integrations

    @property
    def syncs(self) -> SyncEngine:
        assert self._syncs is not None, "sync engine not started yet"
        return self._syncs

    @property
    def orders(self) -> OrderExporter:
        assert self._orders is not None, "order exporter not started yet"
        return self._orders

    @property
    def consent(self) -> ConsentEngine:
        assert self._consent is not None, "consent engine not started yet"
        return self._consent

    @property
    def inbox(self) -> InboxWriter:
        assert self._inbox is not None, "inbox not started yet"
        return self._inbox

    @property
    def inbox_processor(self) -> InboxProcessor:
        assert self._processor is not None, "inbox processor not started yet"
        return self._processor

    @property
    def routes(self) -> RouteBook:
        assert self._routes is not None, "routes not loaded yet"
        return self._routes

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "outbox not started yet"
        return self._outbox

    async def refresh_outbox_depth(self) -> tuple[int, str | None]:
        count, oldest = await outbox_rows.depth(self.db)
        at = parse_time(oldest) if oldest else None
        self.outbox_depth = (count, (self.clock.now() - at).total_seconds() if at else 0.0)
        return count, oldest

    @property
    def public_url(self) -> str:
        """Where Shopify and providers reach us: the configured URL, else the listener."""
        return self.config.public_url or f"http://{self.listen_address}"

    def _connection_event(self, kind: str, counts: dict[str, int | float]) -> None:
        """A public connection refused (over the cap) or closed (too slow): a few lines a
        window, never one per connection, however many there are."""
        allowed, suppressed = self._connection_log.allow(kind)
        if allowed:
            message = (
                "public connection refused: at the connection cap"
                if kind == "refused"
                else "public connection closed: headers or body too slow"
            )
            self.log.warning(message, suppressed=suppressed, **counts)

    def uptime(self) -> float:
        return round(self.clock.monotonic() - self._started_mono, 3)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.notifier.status(self.status_line())

    def status_line(self) -> str:
        return f"{self.state}; {len(self.config.stores)} stores; listening on {self.listen_address}"

    async def status(self) -> dict[str, Any]:
        tables = await customer_rows.table_counts(self.db)
        pending, oldest = await inbox_rows.backlog(self.db)
        outbox_open, outbox_oldest = await self.refresh_outbox_depth()
        return {
            "version": __version__,
            "state": self.state,
            "pid": os.getpid(),
            "started_at": isoformat(self.started_at),
            "uptime_seconds": self.uptime(),
            "config": self.config.path,
            "state_dir": str(self.config.state_dir),
            "database": self.db.location,
            "database_kind": self.db.kind,
            "schema_version": self.db.schema_version,
            "daemon": self.cluster.name,
            "lease_seconds": self.config.lease,
            "daemons": await self.cluster.members(),
            "socket": str(self.config.socket),
            "listen": self.listen_address,
            "public_url": self.public_url,
            "connections": self.connections.public(),
            "degraded": await self.readiness(),
            "stores": [
                {**self._store_status(s), **tables.get(s.name, {})}
                for s in self.config.stores.values()
            ],
            "counts": {
                "log_events": dict(self.sink.counts),
                "stores": len(self.config.stores),
                "integrations": len(self.integrations.list()),
                "customers": sum(t.get("customers", 0) for t in tables.values()),
                "inbox_pending": pending,
                "inbox_oldest_pending_at": oldest,
                "inbox_quarantined": self.inbox_processor.quarantined,
                "outbox_open": outbox_open,
                "outbox_oldest_at": outbox_oldest,
            },
        }

    async def readiness(self) -> list[str]:
        """Why the daemon is not ready (degraded), or [] (see health.py)."""
        return health.degraded(
            await self.db.healthy(),
            [self._store_status(s) for s in self.config.stores.values()],
            [
                (
                    live.integration.id,
                    live.integration.provider,
                    live.integration.state,
                    live.integration.reason,
                    live.unreachable,
                )
                for live in self.integrations.lives()
            ],
        )

    def _store_status(self, store: config_mod.Store) -> dict[str, Any]:
        watched = self._stores.states.get(store.name) if self._stores else None
        base = {"name": store.name, "kind": store.kind}
        return {**base, **watched.public()} if watched else {**base, "state": "connecting"}

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Run until stopped. Raises StateDirError/ListenError/SchemaTooNew on start failure."""
        cfg = self.config
        statedir.prepare(cfg.state_dir)
        lock = statedir.StateDirLock(cfg.state_dir)
        lock.acquire()
        try:
            self._db = await Database.open(cfg.database)
            # Finishes any purge of a wiped credential's WAL copy that a stop cut short.
            await self.db.checkpoint()
            try:
                await self._serve()
            finally:
                # Bounded: with the database away (PostgreSQL down) the stop still ends
                # within systemd's 10 s; the unsaved log lines are then in the journal.
                with anyio.move_on_after(2):
                    try:
                        await self._flush()
                    except Exception as exc:
                        self.sink.stream.write(f"event log write failed at stop: {exc}\n")
                await self.db.close()
        finally:
            lock.release()

    async def _serve(self) -> None:
        cfg = self.config
        self.bus.seed(await event_log.recent(self.db, 1000))
        self.sink.bus = self.bus
        bridge_stdlib(self.sink)
        control_sock = listeners.bind_unix(cfg.socket)
        try:
            public_sock = listeners.bind_tcp(cfg.listen)
        except listeners.ListenError:
            control_sock.close()
            raise
        port = listeners.bound_port(public_sock)
        self.listen_address = str(config_mod.Listen(cfg.listen.host, port))
        self._integrations = IntegrationManager(
            self.db,
            self.clock,
            Logger(self.sink, "integrations"),
            lambda: self.config.stores,
            timeout=self.config.provider_timeout,
        )
        await self._integrations.start()
        self._cluster = cluster = Cluster(
            self.db,
            self.clock,
            Logger(self.sink, "cluster"),
            shared=cfg.shared,
            lease=cfg.lease,
            listen=self.listen_address,
            wanted=self._leases_wanted,
        )
        await cluster.join()
        if cluster.shared:
            self.bus.start_ids_at(cluster.first_event_id)

        def provider_labels(http: provider_http.ProviderHttp) -> tuple[str, str] | None:
            """(integration id, provider) of the integration whose client this is."""
            for live in self.integrations.lives():
                if live.provider.http is http:
                    return str(live.integration.id), live.integration.provider
            return None

        provider_http.OBSERVER = self.metrics.provider_observer(provider_labels)
        self._syncs = syncs = SyncEngine(
            self.db, self.clock, Logger(self.sink, "sync"), self.bus, self.integrations
        )
        self._outbox = Outbox(
            self.db,
            self.clock,
            Logger(self.sink, "outbox"),
            self.integrations,
            self.metrics,
            Backoff(self.config.retry_base, self.config.retry_cap),
        )
        self.metrics.watch_outbox(lambda: self.outbox_depth)
        self._orders = orders = OrderExporter(
            self.db,
            self.clock,
            Logger(self.sink, "orders"),
            self.integrations,
            self.outbox,
            self.bus,
        )

        self._routes = RouteBook(
            self.db,
            Logger(self.sink, "routes"),
            lambda: [Installed(i.id, i.provider, i.store) for i in self.integrations.list()],
        )
        await self.routes.reload()
        self._processor = processor = InboxProcessor(
            self.db,
            self.clock,
            Logger(self.sink, "inbox"),
            lambda stores: self.work.stores_changed(stores),
            lambda: self.work.consent_queued(),
            lambda: {i.store for i in self.integrations.list()},
            routes=self.routes,
            on_deliveries=lambda ids: self.work.deliveries_queued(ids),
        )
        await processor.start()
        self.metrics.watch_quarantine(lambda: processor.quarantined)
        self.metrics.watch_inbox(lambda: inbox_rows.backlog(self.db))
        self._inbox = InboxWriter(self.db, self.clock, lambda: self.work.inbox_committed())
        store_clients = StoreClients(self.clock, timeout=self.config.provider_timeout)
        self._consent = consent = ConsentEngine(
            self.db,
            self.clock,
            Logger(self.sink, "consent"),
            self.integrations,
            StoreWriter(store_clients, lambda: self.config.stores, self.inbox),
            self.outbox,
            timeout=self.config.provider_timeout,
        )
        self._stores = stores = StoreWatcher(
            self.db,
            self.clock,
            Logger(self.sink, "stores"),
            self.inbox,
            store_clients,
            lambda: self.public_url,
        )
        stores.sync_config(self.config.stores)
        stores.owns = lambda name: cluster.holds(f"store:{name}")
        self._work = work = ClusterWork(
            cluster,
            Logger(self.sink, "cluster"),
            self.bus,
            integrations=self.integrations,
            processor=processor,
            syncs=syncs,
            orders=orders,
            outbox=self.outbox,
            consent=consent,
            routes=self.routes,
            supervised=self._supervised,
        )
        work.bind()
        self.integrations.changed = work.integrations_changed
        self.metrics.watch_stores(
            lambda: [name for name, s in stores.states.items() if s.kind == "shopify"]
        )

        async def refresh_metrics() -> tuple[int, str | None]:
            """What /metrics reads from the database at each scrape."""
            await self.metrics.refresh()
            return await self.refresh_outbox_depth()

        parts = Components(
            clock=self.clock,
            sink=self.sink,
            log=self.log,
            bus=self.bus,
            metrics=self.metrics,
            db=self.db,
            integrations=self.integrations,
            syncs=syncs,
            outbox=self.outbox,
            orders=orders,
            routes=self.routes,
            inbox_processor=processor,
            inbox=self.inbox,
            consent=consent,
            current_config=lambda: self.config,
            status=self.status,
            readiness=self.readiness,
            refresh_metrics=refresh_metrics,
            current_public_url=lambda: self.public_url,
        )
        servers = [
            self._server(control.build(parts)),
            self._server(public.build(parts), http=self.connections.protocol()),
        ]
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(self._signal_loop)  # installed before anyone can see READY=1
                served = [anyio.Event(), anyio.Event()]
                tg.start_soon(_serve_until_done, servers[0], control_sock.sock, served[0])
                tg.start_soon(_serve_until_done, servers[1], public_sock, served[1])
                await self._wait_started(servers)
                self.state = "running"
                self.log.info(
                    "patchbayd ready",
                    version=__version__,
                    socket=str(cfg.socket),
                    listen=self.listen_address,
                    state_dir=str(cfg.state_dir),
                    max_connections=self.connections.max_connections,
                )
                self.notifier.ready(self.status_line())
                tg.start_soon(self._flush_loop)
                tg.start_soon(self._watchdog_loop)
                loops: dict[str, Callable[[], Awaitable[None]]] = {
                    "inbox writer": self.inbox.run,
                    "store watcher": lambda: stores.run(lambda: self.config.stores),
                    "sync follower": syncs.follow_changes,
                    "sync retries": syncs.watch_errors,
                    "order follower": orders.follow_changes,
                    "consent engine": consent.run,
                    "outbox": self.outbox.run,
                    "credential checks": lambda: self.integrations.check_loop(
                        lambda: self.config.check_interval
                    ),
                }
                if cluster.shared:
                    loops.update(
                        {
                            "leases": cluster.run,
                            "word to other daemons": cluster.sender,
                            "word from other daemons": cluster.hear,
                            "shared state refresh": lambda: work.refresh_loop(cfg.lease / 3),
                        }
                    )
                else:
                    work.start_processor()  # one daemon: the inbox is ours
                for name, loop in loops.items():
                    tg.start_soon(self._supervised, name, loop)
                await syncs.resume()
                await self._stop.wait()
                self.notifier.stopping()
                self.state = "stopping"
                self.log.info("patchbayd stopping")
                self.bus.close()
                for server in servers:
                    server.should_exit = True
                with anyio.move_on_after(SHUTDOWN_GRACE_SECONDS + 2):
                    for done in served:
                        await done.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.move_on_after(3):
                await work.close()
            with anyio.move_on_after(2):
                await cluster.leave()
            await self.syncs.close()
            await self.integrations.close()
            await store_clients.aclose()
            control_sock.close()
            public_sock.close()
        self.log.info("patchbayd stopped")

    async def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """A background loop that fails is logged and restarted with a growing delay; a
        bug in one part never takes the daemon (and every other integration) down."""
        delay = 1.0
        while True:
            try:
                await loop()
                return
            except Exception as exc:
                self.log.error(
                    "background task failed; restarting it",
                    task=name,
                    error=repr(exc),
                    retry_in=delay,
                )
                await anyio.sleep(delay)
                delay = min(60.0, delay * 2)

    def _server(self, app: Any, http: Any = "auto") -> _Server:
        return _Server(
            uvicorn.Config(
                app,
                lifespan="off",
                log_config=None,
                access_log=False,
                http=http,
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                server_header=False,
            )
        )

    async def _wait_started(self, servers: list[_Server]) -> None:
        # uvicorn exposes `started` only as a flag, so there is no event to wait on.
        while not all(s.started for s in servers):  # noqa: ASYNC110
            await anyio.sleep(0.005)

    async def _flush(self) -> None:
        events = self.bus.take_unsaved()
        if events and self._db is not None:
            await event_log.append(self.db, events)
            if self._cluster is not None:
                self._cluster.post("events", events=[e.as_dict() for e in events])

    async def _flush_loop(self) -> None:
        last_prune = self.clock.monotonic()
        while True:
            await anyio.sleep(FLUSH_SECONDS)
            try:
                await self._flush()
                if self.db.purge_pending and await self.db.checkpoint():
                    self.log.info("credential copy purged from the write-ahead log")
                if self.clock.monotonic() - last_prune > PRUNE_SECONDS:
                    retention = timedelta(seconds=self.config.log_retention)
                    await event_log.prune(
                        self.db, older_than=isoformat(self.clock.now() - retention)
                    )
                    await outbox_rows.prune(
                        self.db, isoformat(self.clock.now() - timedelta(days=DELIVERED_KEPT_DAYS))
                    )
                    last_prune = self.clock.monotonic()
            except Exception as exc:  # keep running: the log table is not worth dying for
                self.sink.stream.write(f"event log write failed: {exc}\n")

    async def _watchdog_loop(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is None:
            return
        while True:
            self.notifier.watchdog()
            await anyio.sleep(interval)

    async def _signal_loop(self, *, task_status: TaskStatus[None]) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            async for signum in signals:
                if signum == signal.SIGHUP:
                    self.reload()
                else:
                    self.log.info("signal received", signal=signal.Signals(signum).name)
                    self.stop()

    def reload(self) -> None:
        """Re-read the config; a bad one is refused and the running one kept."""
        if self.reload_config is None:
            return
        self.notifier.reloading()
        try:
            new = self.reload_config()
        except ConfigError as exc:
            self.log.error(
                "config reload refused; keeping the running config",
                file=exc.file,
                key=exc.key,
                reason=exc.reason,
            )
            self.notifier.reload_refused(self.status_line(), exc)
            return
        restart_only = {"state_dir", "socket", "listen", "database_url", "lease"}
        for name in sorted(restart_only):
            if getattr(new, name) != getattr(self.config, name):
                self.log.warning("config change needs a restart to take effect", key=name)
        self.sink.level, self.sink.fmt = new.log_level, new.log_format
        self.config = replace(new, **{k: getattr(self.config, k) for k in restart_only})
        self.log.info("config reloaded", file=new.path, stores=len(new.stores))
        self.notifier.ready(self.status_line())


async def _serve_until_done(server: _Server, sock: socket.socket, done: anyio.Event) -> None:
    try:
        await server.serve([sock])
    finally:
        done.set()
