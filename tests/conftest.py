from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

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
def daemon(workdir) -> Iterator[Daemon]:
    """A started daemon (BASE_CONFIG); stopped and killed at teardown."""
    d = Daemon(workdir)
    d.start()
    yield d
    d.kill()


@pytest.fixture
def unstarted_daemon(workdir) -> Iterator[Daemon]:
    d = Daemon(workdir)
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
def hub(workdir, sandbox: Sandbox) -> Iterator[Daemon]:
    """A started daemon whose store "shop" is the sandbox's Shopify shop."""
    d = Daemon(
        workdir,
        config_text=sandbox_config(
            sandbox.url, daemon='provider_timeout = "1s"\nintegration_check_interval = "1h"'
        ),
    )
    d.start()
    yield d
    d.kill()
