"""`patchbayd migrate-state`: a SQLite state copied whole into an empty PostgreSQL, or
refused with nothing changed.

The state is written in-process with real rows in every kind of table (a credential, the
quoted `full` column, more rows than one batch, values full of `%`, `?` and quotes), then
the real command runs against a database of its own.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import psycopg
import pytest

from patchbayd.db import integrations
from patchbayd.db.database import Database
from patchbayd.secret import Secret
from patchbayd.statedir import StateDirLock
from tests.postgres import fresh_database
from tests.support import BASE_CONFIG, PATCHBAYD

SECRET = "sk_live_migrate-7f3a9c1e5b"
PASSWORD = "hunter2-pg-pw"
NOW = "2024-05-01T10:00:00.000Z"
CUSTOMERS = 1500  # more than one batch of 1000


async def _build_state(path: Path) -> None:
    db = await Database.open(path)
    try:
        for n, store in enumerate(("demo", "demo", "shop")):
            await integrations.create(
                db,
                provider="klaviyo",
                store=store,
                account=f"acct-{n}",
                settings={"list": f"L{n}"},
                secret=Secret(f"{SECRET}-{n}"),
                callback_token=f"cb-{n}",
                now=NOW,
            )
        async with db.transaction() as conn:
            # An id gap: the sequence must go above 10, not above the row count.
            await conn.execute(
                "INSERT INTO integrations (id, provider, store, state, settings, secret,"
                " callback_token, created_at, disconnected_at)"
                " VALUES (10, 'mailchimp', 'demo', 'disconnected', '{}', NULL, 'cb-10', ?, ?)",
                (NOW, NOW),
            )
            await conn.executemany(
                "INSERT INTO event_log (ts, kind, level, component, message, fields)"
                " VALUES (?, 'log', 'info', 'test', ?, '{}')",
                [(NOW, f"line {i}: 100% done? 'yes' \"ok\"") for i in range(25)],
            )
            await conn.executemany(
                "INSERT INTO customers (store, id, email, first_name, member, tags, properties,"
                " received_at, seq) VALUES ('demo', ?, ?, ?, '{}', '[\"vip\"]', ?, ?, ?)",
                [
                    (f"c{i}", f"User{i}@Example.com", "Zoë ?%", '{"q": "50% off?"}', NOW, i)
                    for i in range(CUSTOMERS)
                ],
            )
            await conn.executemany(
                "INSERT INTO inbox (store, kind, source, dedupe, payload, received_at,"
                " processed_at) VALUES ('demo', 'customer', 'push', ?, ?, ?, ?)",
                [(f"d{i}", '{"a": "%s ?"}', NOW, NOW if i % 2 else None) for i in range(5)],
            )
            await conn.execute(
                "INSERT INTO orders (store, id, customer_id, status, total, currency, seq)"
                " VALUES ('demo', 'o1', 'c1', 'paid', '12.50', 'EUR', 3)"
            )
            await conn.execute(
                "INSERT INTO events (store, id, type, occurred_at, seq)"
                " VALUES ('demo', 'e1', 'viewed', ?, 4)",
                (NOW,),
            )
            await conn.executemany(
                "INSERT INTO syncs (integration_id, segment, mode, state, created_at)"
                " VALUES (?, 'all', 'mirror', 'active', ?)",
                [(1, NOW), (2, NOW)],
            )
            await conn.executemany(
                'INSERT INTO sync_runs (sync_id, state, "full", upto_seq, started_at)'
                " VALUES (?, 'done', ?, 7, ?)",
                [(1, 1, NOW), (1, 0, NOW), (2, 1, NOW)],
            )
            await conn.execute(
                "INSERT INTO sync_contacts (sync_id, customer_id, status, updated_at)"
                " VALUES (1, 'c1', 'sent', ?)",
                (NOW,),
            )
            await conn.executemany(
                "INSERT INTO order_exports (integration_id, order_id, state, updated_at)"
                " VALUES (?, ?, 'sent', ?)",
                [(1, "o1", NOW), (2, "o1", NOW)],
            )
            await conn.execute(
                "INSERT INTO order_feeds (integration_id, mode, created_at)"
                " VALUES (1, 'active', ?)",
                (NOW,),
            )
            await conn.execute(
                "INSERT INTO order_export_runs (integration_id, mode, state, started_at)"
                " VALUES (1, 'once', 'done', ?)",
                (NOW,),
            )
            await conn.execute(
                "INSERT INTO consent_events (store, email, integration_id, source, state,"
                " received_at) VALUES ('demo', 'a@example.com', 1, 'provider', 'unsubscribed', ?)",
                (NOW,),
            )
            await conn.execute(
                "INSERT INTO consent_states (integration_id, email, state, at)"
                " VALUES (1, 'a@example.com', 'unsubscribed', ?)",
                (NOW,),
            )
            await conn.executemany(
                "INSERT INTO consent_audit (decided_at, integration_id, store, email, source,"
                " rule, outcome, reason) VALUES (?, 1, 'demo', ?, 'store', 'newest', 'applied',"
                " 'newer')",
                [(NOW, "a@example.com"), (NOW, "b@example.com")],
            )
            await conn.execute(
                "INSERT INTO routes (name, definition, created_at, updated_at)"
                " VALUES ('welcome', '{}', ?, ?)",
                (NOW, NOW),
            )
            await conn.executemany(
                "INSERT INTO deliveries (route_id, route_name, integration_id, store,"
                " event_type, event_id, action, kind, contact, key, payload, timeout, status,"
                " next_attempt_at, last_attempt_ms, created_at, updated_at)"
                " VALUES (1, 'welcome', 1, 'demo', 'customer.created', ?, 0, 'event', 'c1', ?,"
                " '{}', 2.5, 'delivered', ?, 12.25, ?, ?)",
                [(f"ev{i}", f"k{i}", NOW, NOW, NOW) for i in range(2)],
            )
            # Earlier starts of the daemon: the next one must get seq 4 (its event ids
            # are numbered from seq * 2^40), and leases keep their fencing tokens.
            await conn.executemany(
                "INSERT INTO daemons (seq, name, host, pid, version, listen, started_at,"
                " heartbeat, stopped_at) VALUES (?, ?, 'h', 1, '1', '127.0.0.1:0', ?, 1.5, ?)",
                [(seq, f"h:1:{seq}", NOW, NOW) for seq in (1, 2, 3)],
            )
            await conn.execute(
                "INSERT INTO leases (name, holder, token, expires)"
                " VALUES ('inbox', 'h:1:3', 7, 1.5)"
            )
            await conn.execute(
                "INSERT INTO store_imports (store, source, cursor, updated_at)"
                " VALUES ('shop', 'https://shop.example', ?, ?)",
                (NOW, NOW),
            )
    finally:
        await db.close()


@pytest.fixture(scope="module")
def state_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once; each test copies it, so none sees another's changes."""
    path = tmp_path_factory.mktemp("template") / "patchbay.db"
    anyio.run(_build_state, path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def state_dir(tmp_path: Path, state_template: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    (directory / "patchbay.db").write_bytes(state_template.read_bytes())
    return directory


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG)
    return path


@pytest.fixture
def target() -> Iterator[str]:
    """A new database, its URL carrying a password (trust auth ignores it) that must
    appear nowhere in the output."""
    with fresh_database() as url:
        parts = urlsplit(url)
        if parts.password is None and parts.username:
            netloc = f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port or 5432}"
            url = urlunsplit(parts._replace(netloc=netloc))
        yield url


def _migrate(config: Path, state_dir: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PATCHBAY_CONFIG"}
    return subprocess.run(
        [
            PATCHBAYD,
            "migrate-state",
            "--config",
            str(config),
            "--state-dir",
            str(state_dir),
            *("--to", url),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def _sqlite_tables(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name"
            )
        ]
        return {
            name: [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')] for name in names
        }


def _select(table: str, columns: list[str]) -> str:
    return f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} FROM "{table}"'


def _sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            table: sorted(conn.execute(_select(table, columns)).fetchall(), key=repr)
            for table, columns in _sqlite_tables(path).items()
        }


def _postgres_rows(url: str, tables: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: sorted(conn.execute(_select(table, columns)).fetchall(), key=repr)  # type: ignore[arg-type]
            for table, columns in tables.items()
        }


def _postgres_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ]
        counts: dict[str, int] = {}
        for name in names:
            row = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()  # type: ignore[arg-type]
            assert row is not None
            counts[name] = row[0]
        return counts


def _only_migrations(url: str) -> bool:
    return all(n == 0 for t, n in _postgres_counts(url).items() if t != "schema_migrations")


def test_copies_every_row_and_verifies(config: Path, state_dir: Path, target: str) -> None:
    source = state_dir / "patchbay.db"
    before = _sqlite_rows(source)
    result = _migrate(config, state_dir, target)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    tables = _sqlite_tables(source)
    for table, rows in before.items():
        assert f"{table}: {len(rows)}/{len(rows)} rows" in result.stderr.splitlines()
    summary = dict(line.split() for line in result.stdout.splitlines()[1 : len(tables) + 1])
    assert result.stdout.splitlines()[0].split() == ["TABLE", "ROWS"]
    assert summary == {table: str(len(rows)) for table, rows in before.items()}
    assert summary["customers"] == str(CUSTOMERS)
    assert "verified: every table has the same row count in both" in result.stdout
    assert PASSWORD not in output
    assert SECRET not in output
    assert "***" in result.stdout  # the target is named, its password hidden

    assert _postgres_rows(target, tables) == before
    with psycopg.connect(target) as conn:
        secrets = conn.execute("SELECT id, secret FROM integrations ORDER BY id").fetchall()
        assert secrets == [(1, f"{SECRET}-0"), (2, f"{SECRET}-1"), (3, f"{SECRET}-2"), (10, None)]
        assert conn.execute('SELECT "full" FROM sync_runs ORDER BY id').fetchall() == [
            (1,),
            (0,),
            (1,),
        ]

        # New rows are numbered after the copied ones, in every table with a generated key.
        row = conn.execute(
            "INSERT INTO integrations (provider, store, state, callback_token, created_at)"
            " VALUES ('klaviyo', 'demo', 'connected', 'cb-new', 'now') RETURNING id"
        ).fetchone()
        assert row is not None and row[0] == 11
        identities = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ).fetchall()
        assert ("daemons", "seq") in identities and ("event_log", "id") in identities
        for table, column in identities:
            if table == "schema_migrations":
                continue
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (table, column))
            name = seq.fetchone()
            assert name is not None and name[0] is not None
            top = conn.execute(f'SELECT COALESCE(max("{column}"), 0) FROM "{table}"').fetchone()  # type: ignore[arg-type]
            following = conn.execute("SELECT nextval(%s)", (name[0],)).fetchone()
            assert top is not None and following is not None
            assert following[0] == top[0] + 1, (table, column)

    # The source is read, never changed.
    assert _sqlite_rows(source) == before


def test_refuses_a_database_that_holds_rows(config: Path, state_dir: Path, target: str) -> None:
    assert _migrate(config, state_dir, target).returncode == 0
    counts = _postgres_counts(target)
    tables = _sqlite_tables(state_dir / "patchbay.db")
    rows = _postgres_rows(target, tables)

    again = _migrate(config, state_dir, target)
    output = again.stdout + again.stderr
    assert again.returncode == 1, output
    assert again.stdout == ""
    message = again.stderr.strip()
    assert message.startswith("patchbayd: ")
    assert "is not empty (rows in audit_log, consent_audit," in message
    assert "create a new one" in message
    assert PASSWORD not in output and SECRET not in output
    assert _postgres_counts(target) == counts
    assert _postgres_rows(target, tables) == rows


def test_a_copy_that_fails_keeps_nothing(config: Path, state_dir: Path, target: str) -> None:
    """A row PostgreSQL rejects (here an audit entry of an integration that is gone, which
    SQLite let in with its key checks off) fails the whole copy: the target stays empty,
    so the command can run again once the source is put right."""
    with sqlite3.connect(state_dir / "patchbay.db") as conn:
        conn.execute(
            "INSERT INTO audit_log (ts, action, integration_id) VALUES (?, 'x', 99)", (NOW,)
        )
    result = _migrate(config, state_dir, target)
    assert result.returncode == 1
    assert "patchbayd: copying audit_log failed:" in result.stderr
    assert "foreign key" in result.stderr
    assert PASSWORD not in result.stderr
    assert _only_migrations(target)


def test_refuses_a_missing_source(config: Path, tmp_path: Path, target: str) -> None:
    empty = tmp_path / "nothing-here"
    result = _migrate(config, empty, target)
    assert result.returncode == 1
    assert f"patchbayd: no SQLite state at {empty / 'patchbay.db'}" in result.stderr
    assert not empty.exists()
    assert _postgres_counts(target) == {}


def test_refuses_while_the_daemon_holds_the_state(
    config: Path, state_dir: Path, target: str
) -> None:
    lock = StateDirLock(state_dir)
    lock.acquire()
    try:
        result = _migrate(config, state_dir, target)
    finally:
        lock.release()
    assert result.returncode == 1
    assert "another patchbayd" in result.stderr and "stop it" in result.stderr
    assert _postgres_counts(target) == {}


def test_refuses_a_state_already_in_postgresql(tmp_path: Path, state_dir: Path) -> None:
    config = tmp_path / "pg.toml"
    url = f"postgresql://patchbay:{PASSWORD}@127.0.0.1:1/patchbay"
    config.write_text(BASE_CONFIG + f'\n[database]\nurl = "{url}"\n')
    result = _migrate(config, state_dir, "postgresql://postgres@127.0.0.1:1/other")
    assert result.returncode == 1
    assert "already PostgreSQL" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_needs_a_postgresql_url(config: Path, state_dir: Path) -> None:
    result = _migrate(config, state_dir, f"mysql://root:{PASSWORD}@127.0.0.1/x")
    assert result.returncode == 2
    assert "postgresql://" in result.stderr
    assert PASSWORD not in result.stderr
