from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.postgres import fresh_database
from tests.support import Daemon, Sandbox, sandbox_config, short_tmpdir


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def workdir() -> Iterator:
    path = short_tmpdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """The state the daemon fixtures use: None (SQLite in the state dir) unless
    PATCHBAY_TEST_DATABASE=postgresql, which runs them all on PostgreSQL. Modules that
    must hold on both backends override this with `on_both_backends` (tests/postgres.py)."""
    if os.environ.get("PATCHBAY_TEST_DATABASE") == "postgresql":
        with fresh_database() as url:
            yield url
    else:
        yield None


@pytest.fixture
def daemon(workdir, database_url) -> Iterator[Daemon]:
    """A started daemon (BASE_CONFIG); stopped and killed at teardown."""
    d = Daemon(workdir, database_url=database_url)
    d.start()
    yield d
    d.kill()


@pytest.fixture
def unstarted_daemon(workdir, database_url) -> Iterator[Daemon]:
    d = Daemon(workdir, database_url=database_url)
    yield d
    d.kill()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    server = Sandbox()
    yield server
    server.close()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox, reset to a clean state for this test."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def hub(workdir, sandbox: Sandbox, database_url) -> Iterator[Daemon]:
    """A started daemon whose store "shop" is the sandbox's Shopify shop."""
    d = Daemon(
        workdir,
        config_text=sandbox_config(
            sandbox.url, daemon='provider_timeout = "1s"\nintegration_check_interval = "1h"'
        ),
        database_url=database_url,
    )
    d.start()
    yield d
    d.kill()
