"""The state database: SQLite (the embedded default) or PostgreSQL (several daemons).

Both backends take the same SQL (written in the subset they share, `?` placeholders)
and the same numbered migrations; `Database.open` picks one from the configured URL.
Each daemon keeps one writer transaction at a time (`transaction()`), as SQLite forces
anyway: engine code written against that never sees two of its own transactions
interleave. Between daemons, leases (db/leases.py) decide who does what.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import anyio
import psycopg

from ..clock import SystemClock, isoformat

POSTGRES_SCHEMES = ("postgresql://", "postgres://")  # the URLs Database.open gives PostgreSQL


class SchemaTooNew(Exception):
    """The database was written by a newer patchbayd; refusing beats corrupting it."""


# The database itself failing (not a row): callers retry the whole pass later.
UNAVAILABLE: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)


class Row(Protocol):
    """A result row: by position and by column name (sqlite3.Row and PgRow both)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Conn(Protocol):
    """What a transaction hands out: aiosqlite's connection, or the PostgreSQL one."""

    def execute(self, sql: str, parameters: Any = None, /) -> Any: ...

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every bundled migration, in order."""
    found = []
    for entry in resources.files("patchbayd.db.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    found.sort()
    versions = [v for v, _, _ in found]
    assert versions == list(range(1, len(found) + 1)), f"migration numbers have gaps: {versions}"
    return found


def newest_migration() -> int:
    return max((v for v, _, _ in migrations()), default=0)


def check_version(applied: int, where: str) -> None:
    newest = newest_migration()
    if applied > newest:
        raise SchemaTooNew(
            f"{where} has schema version {applied}, but this patchbayd knows only up to "
            f"{newest}; upgrade patchbayd or point it at an older state"
        )


async def schema_of(target: Path | str) -> int | None:
    """The schema version the state at `target` has, without changing it (None: no state
    there yet). Raises what connecting raises, for `patchbayd check-config` to report."""
    text = str(target)
    if text.startswith(POSTGRES_SCHEMES):
        from .postgres import schema_of as postgres_schema

        return await postgres_schema(text)
    path = Path(text.removeprefix("sqlite://"))
    if not await anyio.Path(path).exists():
        return None
    async with aiosqlite.connect(f"file:{path}?mode=ro", uri=True) as conn:
        cursor = await conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'schema_migrations'"
        )
        if await cursor.fetchone() is None:
            return None
        cursor = await conn.execute("SELECT max(version) FROM schema_migrations")
        row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else None


class Database:
    """The operations every query module uses; each backend implements them."""

    kind = "sqlite"
    schema_version: int
    purge_pending: bool

    @classmethod
    async def open(cls, target: Path | str) -> Database:
        """A SQLite file (a path, or sqlite:///path) or a PostgreSQL URL."""
        text = str(target)
        if text.startswith(POSTGRES_SCHEMES):
            from .postgres import PostgresDatabase

            return await PostgresDatabase.open(text)
        if text.startswith("sqlite://"):
            text = text.removeprefix("sqlite://")
        return await SqliteDatabase.open(Path(text))

    @property
    def location(self) -> str:
        """Where the state is, for status and messages (never with a password)."""
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    async def write_in_order(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A write whose new ids must commit in the order they are drawn: inbox ids are
        the sequence numbers syncs resume after, so a lower id committed after a higher
        one was processed would be skipped. SQLite has one writer, so `write` is that."""
        await self.write(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        raise NotImplementedError

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A read that sees only committed rows (for readers that act on what they read)."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def checkpoint(self) -> bool:
        """Leave no old copy of a wiped credential behind; True when that is done."""
        return True

    async def healthy(self) -> bool:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


BUSY_TIMEOUT_MS = 5000


class SqliteDatabase(Database):
    """One aiosqlite connection serves the whole daemon; an asyncio lock makes each
    `transaction()` a unit, so two tasks never interleave statements inside one BEGIN."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.schema_version = 0
        self.purge_pending = False  # a checkpoint that must still complete (see checkpoint)
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, target: Path | str) -> SqliteDatabase:
        path = Path(target)
        _create_private(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            # secure_delete: wiped credentials are overwritten, not left in free pages.
            for pragma in (
                "journal_mode=WAL",
                "foreign_keys=ON",
                f"busy_timeout={BUSY_TIMEOUT_MS}",
                "synchronous=NORMAL",
                "secure_delete=ON",
            ):
                await conn.execute(f"PRAGMA {pragma}")
            await db._migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    @property
    def location(self) -> str:
        return str(self.path)

    async def _migrate(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await self.fetchall("SELECT version FROM schema_migrations")
        applied = {row[0] for row in rows}
        check_version(max(applied, default=0), str(self.path))
        for version, name, sql in migrations():
            if version in applied:
                continue
            async with self.transaction() as conn:
                for statement in statements(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (version, name, isoformat(SystemClock().now())),
                )
        self.schema_version = newest_migration()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self._lock:
            # The statement runs in aiosqlite's thread whatever happens to us: a task
            # cancelled while BEGIN waits for the write lock would leave the shared
            # connection inside a transaction, and every later BEGIN would fail. So a
            # cancelled BEGIN is waited for and undone, still under the lock.
            begin = asyncio.ensure_future(self.conn.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                await asyncio.shield(_undo(self.conn, begin))
                raise
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """One statement as its own transaction: a single trip to the database thread.

        SQLite makes every statement atomic, so a multi-row INSERT needs no BEGIN/COMMIT
        of ours; the lock keeps it out of another task's open transaction.
        """
        async with self._lock:
            await self.conn.execute(sql, params)

    async def fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Waits for any transaction open on the shared connection: a plain fetch on it
        would see that transaction's rows before they commit."""
        async with self._lock:
            return await self.fetchall(sql, params)

    async def fetchone(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def checkpoint(self) -> bool:
        """Fold the WAL into the database and truncate it, so no old page copy survives
        (a wiped credential's, say). True when it completed. A reader holding the WAL
        makes it return at once, not wait out the busy timeout under the lock: it is then
        left `purge_pending`, for the daemon's flush loop to try again until it completes."""
        async with self._lock:
            try:
                await self.conn.execute("PRAGMA busy_timeout = 0")
                cursor = await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                row = await cursor.fetchone()
                done = row is not None and row[0] == 0
            except sqlite3.OperationalError:  # "table is locked": a statement still open
                done = False
            finally:
                await self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.purge_pending = not done
        return done

    async def healthy(self) -> bool:
        """True when the database answers a read and the file is still where we opened it."""
        try:
            if not self.path.exists():
                return False
            await asyncio.wait_for(self.fetchone("SELECT count(*) FROM schema_migrations"), 2)
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.conn.close()


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does, so it is never world-readable."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def statements(sql: str) -> list[str]:
    """Split a migration on semicolons; migrations hold no trigger bodies, so this is exact."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


async def _undo(conn: aiosqlite.Connection, begin: asyncio.Future[Any]) -> None:
    """Roll back a BEGIN whose caller went away (if it began at all)."""
    try:
        await begin
    except Exception:  # it never began: nothing to undo
        return
    await conn.execute("ROLLBACK")
