"""One daemon for the whole adversarial package, proofs after each test, figures at the end.

The daemon has the push store `demo`, a Shopify store `shop` whose Admin API is
unreachable (webhooks need only the secret, and no background import can move the row
counts the suite compares), and an Omnisend integration on `demo` against the session
sandbox, which is what gives it consent callback URLs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from tests.adversarial.harness import PROVIDER_KEY, TALLY, Target
from tests.support import Daemon, Sandbox, sandbox_config, short_tmpdir

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: refused at once, the daemon starts


def connect_for_callbacks(daemon: Daemon, sandbox: Sandbox) -> str:
    """Connect Omnisend to `demo` and return the token of its callback URLs."""
    made = json.loads(daemon.cli(
        "integrations", "connect", "omnisend", "--store", "demo", "--api-key-env",
        "PB_ADVERSARIAL_KEY", "--base-url", f"{sandbox.url}/omnisend",
        "--fetch-on-register", "off", "--json",
        env_extra={"PB_ADVERSARIAL_KEY": PROVIDER_KEY}).stdout)
    shown = json.loads(daemon.cli("integrations", "show", str(made["id"]), "--json").stdout)
    return str(shown["callbacks"]["opt_in"].split("/callbacks/", 1)[1].split("/", 1)[0])


@pytest.fixture(scope="package")
def target(sandbox_server: Sandbox) -> Iterator[Target]:
    directory = short_tmpdir()
    daemon = Daemon(directory, config_text=sandbox_config(
        UNREACHABLE, daemon='provider_timeout = "1s"\nintegration_check_interval = "1h"'))
    try:
        daemon.start()
        attacked = Target(daemon, connect_for_callbacks(daemon, sandbox_server))
        try:
            yield attacked
        finally:
            attacked.close()
    finally:
        daemon.kill()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def still_moving_and_quiet(target: Target) -> Iterator[None]:
    """After every test, whatever it did: good input still flows, and stderr holds no
    secret and no hostile payload."""
    yield
    target.pipeline_moves()
    leaked = target.leaks()
    assert not leaked, f"found in the daemon's stderr: {', '.join(leaked)}"


@pytest.fixture(scope="package", autouse=True)
def figures() -> Iterator[None]:
    """The suite fails on its figures too, not only on the per-case asserts."""
    yield
    print(f"\n{TALLY.line()}")
    assert TALLY.clean(), TALLY.line()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.cases:
        terminalreporter.write_line(TALLY.line())
        for note in sorted(TALLY.notes):
            terminalreporter.write_line(f"adversarial note: {note}")
