"""The routes in force, kept in memory, and the deliveries they make of an event.

The processor asks this once per batch, inside the transaction that commits the batch,
so an acknowledged event and its deliveries land together. Routes are reloaded from the
database whenever one is imported, switched or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from ..db import Database
from ..db import routes as route_rows
from ..db.outbox import NewDelivery
from ..log import Logger
from ..providers.registry import SPECS
from .route_file import from_table, to_table
from .routes import Route, RouteError, RouteEvent, plan, runs_in, trigger_matches


@dataclass(frozen=True)
class Installed:
    """An integration as routes need it: which provider, in which store."""

    id: int
    provider: str
    store: str


class RouteBook:
    def __init__(
        self, db: Database, log: Logger, installed: Callable[[], Sequence[Installed]]
    ) -> None:
        self.db, self.log = db, log
        self.installed = installed
        self.routes: list[tuple[int, Route]] = []
        self._stamp: tuple[object, ...] | None = None  # the table as last loaded

    async def catch_up(self) -> None:
        """Reload when the table changed since the last load: another daemon sharing the
        database imported, switched or deleted a route. The processor asks before each
        batch, so a route committed before an event is processed applies to it."""
        if await route_rows.stamp(self.db) != self._stamp:
            await self.reload()

    async def reload(self) -> None:
        self._stamp = await route_rows.stamp(self.db)
        loaded = []
        for stored in await route_rows.all_routes(self.db):
            try:
                route = from_table(stored.definition, f"route {stored.id}", tuple(SPECS))
            except RouteError as exc:  # stored by an older version with other rules
                self.log.error("route cannot be used; skipped", route=stored.id, error=str(exc))
                continue
            loaded.append((stored.id, replace(route, enabled=stored.enabled)))
        self.routes = loaded

    async def install(
        self,
        routes: Sequence[Route],
        file: str,
        stores: Collection[str],
        *,
        replace_same_name: bool,
        now: str,
    ) -> tuple[list[int], list[str]]:
        """Store routes read from `file` and put them in force; (new ids, names kept as
        they were). RouteError, naming the file and route, when a route names a store that
        is not configured or whose provider is not installed there."""
        installed = {(i.store, i.provider) for i in self.installed()}
        for route in routes:
            for store in route.stores:
                if store not in stores:
                    raise RouteError(
                        f"{file}: route {route.name!r}: stores: no store {store!r} in the config"
                    )
                if (store, route.provider) not in installed:
                    raise RouteError(
                        f"{file}: route {route.name!r}: stores: {route.provider}"
                        f" is not installed in store {store!r} (connect it first)"
                    )
        ids, kept = await route_rows.save(
            self.db, [to_table(r) for r in routes], replace=replace_same_name, now=now
        )
        await self.reload()
        self.log.info("routes imported", file=file, imported=len(ids), kept=len(kept))
        return ids, kept

    async def set_enabled(self, route_id: int, enabled: bool, now: str) -> None:
        await route_rows.set_enabled(self.db, route_id, enabled, now)
        await self.reload()

    async def delete(self, route_id: int) -> None:
        await route_rows.delete(self.db, route_id)
        await self.reload()

    def wants(self, event_type: str) -> bool:
        """Whether any enabled route listens for this type (saves work when none does)."""
        return any(r.enabled and trigger_matches(r.trigger, event_type) for _, r in self.routes)

    def deliveries(self, events: Sequence[RouteEvent]) -> list[NewDelivery]:
        if not self.routes or not events:
            return []
        by_store: dict[str, list[Installed]] = {}
        for integration in self.installed():
            by_store.setdefault(integration.store, []).append(integration)
        found: list[NewDelivery] = []
        for event in events:
            here = by_store.get(event.store, [])
            providers = [i.provider for i in here]
            for route_id, route in self.routes:
                if not runs_in(route, event.store, providers):
                    continue
                planned = plan(route, event)
                for integration in (i for i in here if i.provider == route.provider):
                    found += [
                        NewDelivery(
                            route_id,
                            route.name,
                            integration.id,
                            event.store,
                            event.type,
                            event.id,
                            p.action,
                            p.kind,
                            p.contact,
                            f"r{route_id}:{p.key}",
                            p.payload,
                            route.timeout,
                            p.refused,
                        )
                        for p in planned
                    ]
        return found
