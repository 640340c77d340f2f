"""Moving a SQLite state into PostgreSQL (`patchbayd migrate-state`), once, when a site
grows from one daemon to several.

Only into a database that holds no rows: copying over a state would merge two histories
(ids, ledgers, consent decisions) into one that is neither, so that is refused, not tried.
The copy is a single PostgreSQL transaction whose row counts are checked before it
commits: a copy that fails or comes out short leaves the target as empty as it was, and
the command can simply be run again. The source is read inside one SQLite read
transaction, so every table comes from the same moment even if something writes to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
import psycopg
from psycopg import sql

from .database import Conn, Database, SqliteDatabase
from .postgres import CONNECT_TIMEOUT, reason, redact

BATCH = 1000

# (table, rows copied so far, rows in that table): after each batch, and once for an
# empty table, so a long copy shows it is moving.
Progress = Callable[[str, int, int], None]

# Which rows say which database they belong to, not what the state is: never copied.
SKIPPED = "schema_migrations"


class MigrateError(Exception):
    """The copy was refused or did not come out whole. The message is for the operator:
    it names the table and the database (its password hidden), never a row's contents."""


def _ignore(_table: str, _copied: int, _total: int) -> None:
    return None


async def migrate(
    source: Path | str,
    target_url: str,
    progress: Progress = _ignore,
    *,
    batch: int = BATCH,
) -> dict[str, int]:
    """Copy the SQLite state at `source` into the empty PostgreSQL at `target_url`;
    {table: rows} as verified in both.

    The source is brought to the newest schema first (as the daemon would on start), so
    both sides have the same tables and columns. Credentials travel as they are stored."""
    path = Path(str(source).removeprefix("sqlite://"))
    if not await anyio.Path(path).is_file():
        # Database.open would create an empty state there, and copy that.
        raise MigrateError(f"no SQLite state at {path}")
    where = redact(target_url)
    held = await _tables_with_rows(target_url)
    if held:
        named = ", ".join(held[:4]) + (f" and {len(held) - 4} more" if len(held) > 4 else "")
        raise MigrateError(
            f"{where} is not empty (rows in {named}); migrate-state copies only "
            "into a database without rows: create a new one and run it again"
        )
    try:
        src = await Database.open(path)
    except (sqlite3.Error, OSError) as exc:  # not a database, or not ours to read
        raise MigrateError(f"cannot read the SQLite state at {path}: {exc}") from None
    try:
        assert isinstance(src, SqliteDatabase)
        target = await Database.open(target_url)
        try:
            return await _copy(src, target, progress, batch)
        finally:
            await target.close()
    finally:
        await src.close()


async def _tables_with_rows(url: str) -> list[str]:
    """Tables of the target's schema that hold a row. Asked before the target is opened
    (which would migrate an older patchbay schema there), so a refusal changes nothing."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT)
        )
    except psycopg.Error as exc:
        raise MigrateError(f"cannot connect to {redact(url)}: {reason(exc, url)}") from None
    async with conn:
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        )
        names = [str(row[0]) for row in await cursor.fetchall() if row[0] != SKIPPED]
        held = []
        for name in names:
            query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(name))
            cursor = await conn.execute(query)
            row = await cursor.fetchone()
            if row and row[0]:
                held.append(name)
        return held


async def _copy(
    src: SqliteDatabase, target: Database, progress: Progress, batch: int
) -> dict[str, int]:
    # A deferred BEGIN reads one snapshot (WAL) without blocking any writer.
    await src.conn.execute("BEGIN")
    try:
        names = [
            str(row[0])
            for row in await src.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name != ?",
                (SKIPPED,),
            )
        ]
        tables = await _in_key_order(src, names)
        counts = {table: await _count(src, table) for table in tables}
        async with target.transaction() as out:
            for table in tables:
                try:
                    await _copy_table(src, out, table, counts[table], progress, batch)
                except psycopg.Error as exc:
                    raise MigrateError(
                        f"copying {table} failed: {reason(exc, target.location)}"
                    ) from None
            await _restart_identities(out, tables)
            for table in tables:
                cursor = await out.execute(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608
                row = await cursor.fetchone()
                copied = int(row[0]) if row else 0
                if copied != counts[table]:
                    raise MigrateError(
                        f"{table}: {counts[table]} rows in the SQLite state but {copied} "
                        f"in {target.location}; nothing was kept, the target is still empty"
                    )
        return counts
    finally:
        await src.conn.execute("ROLLBACK")


async def _in_key_order(src: SqliteDatabase, names: list[str]) -> list[str]:
    """Every table after the tables its foreign keys point at (PostgreSQL checks each
    row as it goes in); alphabetical otherwise, so runs print alike."""
    needs: dict[str, set[str]] = {}
    for name in names:
        rows = await src.fetchall(f"PRAGMA foreign_key_list({_quote(name)})")
        needs[name] = {str(row[2]) for row in rows if row[2] != name and row[2] in names}
    order: list[str] = []
    while needs:
        ready = sorted(name for name, deps in needs.items() if deps <= set(order))
        # A cycle has no such order; its rows then fail on their key, naming the table.
        for name in ready or sorted(needs):
            order.append(name)
            del needs[name]
    return order


async def _count(src: SqliteDatabase, table: str) -> int:
    row = await src.fetchone(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608
    return int(row[0]) if row else 0


async def _copy_table(
    src: SqliteDatabase, out: Conn, table: str, total: int, progress: Progress, batch: int
) -> None:
    copied = 0
    async with src.conn.execute(f"SELECT * FROM {_quote(table)}") as cursor:  # noqa: S608
        columns = ", ".join(_quote(d[0]) for d in cursor.description)
        marks = ", ".join("?" for _ in cursor.description)
        insert = f"INSERT INTO {_quote(table)} ({columns}) VALUES ({marks})"  # noqa: S608
        while rows := list(await cursor.fetchmany(batch)):
            await out.executemany(insert, _tuples(rows))
            copied += len(rows)
            progress(table, copied, total)
    if copied == 0:
        progress(table, 0, total)


def _tuples(rows: Iterable[Iterable[object]]) -> list[tuple[object, ...]]:
    return [tuple(row) for row in rows]


async def _restart_identities(out: Conn, tables: list[str]) -> None:
    """Copied rows keep their keys, which PostgreSQL's identity sequences did not hand
    out: without this the next insert would be given 1 again and collide (`id`s, and
    `daemons.seq`, which also spaces each daemon's event ids apart)."""
    cursor = await out.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        " ORDER BY table_name, column_name"
    )
    for table, column in [(str(r[0]), str(r[1])) for r in await cursor.fetchall()]:
        if table not in tables:
            continue
        cursor = await out.execute("SELECT pg_get_serial_sequence(?, ?)", (_quote(table), column))
        row = await cursor.fetchone()
        if not row or row[0] is None:
            continue
        top = f"SELECT COALESCE(max({_quote(column)}), 0) + 1 FROM {_quote(table)}"  # noqa: S608
        await out.execute(f"SELECT setval(?, ({top}), false)", (row[0],))


def _quote(name: str) -> str:
    """An identifier both databases read as written (`full` is a keyword in PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'
