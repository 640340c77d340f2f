from __future__ import annotations

import stat
from pathlib import Path

import pytest

from patchbayd.db import Database, SchemaTooNew
from patchbayd.db.database import migrations

pytestmark = pytest.mark.anyio


async def test_migrations_are_applied_once_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    db = await Database.open(path)
    rows = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == [v for v, _, _ in migrations()]
    assert db.schema_version == len(rows)
    await db.close()
    again = await Database.open(path)  # re-open: nothing re-applied, no error
    assert len(await again.fetchall("SELECT * FROM schema_migrations")) == len(rows)
    assert (await again.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await again.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert (await again.fetchone("PRAGMA busy_timeout"))[0] == 5000  # type: ignore[index]
    await again.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    db = await Database.open(path)
    await db.conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 'x')")
    await db.close()
    with pytest.raises(SchemaTooNew, match="schema version 999"):
        await Database.open(path)


async def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "p.db")
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO event_log (ts, kind, level, component, message)"
                " VALUES ('t', 'log', 'info', 'c', 'm')"
            )
            raise RuntimeError("boom")
    assert (await db.fetchone("SELECT count(*) FROM event_log"))[0] == 0  # type: ignore[index]
    assert await db.healthy()
    await db.close()


async def test_a_transaction_cancelled_while_it_waits_to_begin_leaves_none_open(
    tmp_path: Path,
) -> None:
    """BEGIN runs in aiosqlite's thread whatever happens to the task that asked: cancelled
    while another process held the write lock, it used to leave the shared connection
    inside a transaction, and every later one failed ('cannot start a transaction within
    a transaction'). Seen when a sync was stopped mid-run."""
    import asyncio
    import sqlite3

    db = await Database.open(tmp_path / "state.db")
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock: our BEGIN waits for it

    async def write() -> None:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE never (x)")

    waiting = asyncio.ensure_future(write())
    await asyncio.sleep(0.2)  # in BEGIN's busy wait (a wait for a lock, not for an outcome)
    waiting.cancel()
    other.execute("ROLLBACK")  # the lock is free: the orphaned BEGIN goes through now
    other.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with db.transaction() as conn:  # failed before the fix
        await conn.execute("CREATE TABLE later (x)")
    row = await db.fetchone("SELECT count(*) FROM later")
    assert row is not None and row[0] == 0
    assert await db.fetchone("SELECT name FROM sqlite_master WHERE name = 'never'") is None
    await db.close()
