from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support import Daemon, short_tmpdir


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
