"""A PostgreSQL database of its own for each test that runs on that backend.

The server is the machine's (127.0.0.1:5432, trust auth). Each database is created from
template0 and dropped after the test. Where no server answers, the test is skipped with
the reason; `.ci/run` sets PATCHBAY_REQUIRE_POSTGRES=1 when one answers, so a skip there
fails instead (PostgreSQL tests cannot quietly stop running).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

SERVER = os.environ.get("PATCHBAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
_names = itertools.count(1)


def reachable() -> str | None:
    """None when the server answers, else why not (one line)."""
    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def require() -> None:
    why = reachable()
    if why is None:
        return
    if os.environ.get("PATCHBAY_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL was reachable when the run began and is not now: {why}")
    pytest.skip(f"no PostgreSQL at {SERVER}: {why}")


def _admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new empty database, dropped (with any connection left) afterwards."""
    require()
    name = f"patchbay_test_{os.getpid()}_{next(_names)}"
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
    try:
        yield f"{SERVER}/{name}"
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


BACKENDS = ["sqlite", "postgresql"]


def database_for(backend: str) -> Iterator[str | None]:
    """For a module's `database_url` fixture parametrised over BACKENDS:

    @pytest.fixture(params=BACKENDS)
    def database_url(request): yield from database_for(request.param)
    """
    if backend == "postgresql":
        with fresh_database() as url:
            yield url
    else:
        yield None
