"""`patchbay demo`: a daemon on a throwaway state dir, then the console (or a printed summary).

Everything runs on loopback with no accounts; the state dir is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import click

from . import render
from .client import ApiFailure, ControlClient, DaemonUnreachable

DEMO_CONFIG = """\
[daemon]
listen = "127.0.0.1:0"

[stores.demo]
kind = "push"
ingest_token = "demo-token"
"""


def _wait_ready(socket: Path, proc: subprocess.Popen[bytes], timeout: float = 20) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        async with ControlClient(socket, timeout=2) as client:
            result: dict[str, Any] = await client.get("/v1/status")
            return result

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"patchbayd exited with code {proc.returncode}")
        with contextlib.suppress(DaemonUnreachable, ApiFailure):
            return anyio.run(ask)
        time.sleep(0.05)
    raise click.ClickException("patchbayd did not become ready in time")


@contextlib.contextmanager
def running_daemon(workdir: Path, quiet: bool) -> Iterator[tuple[Path, dict[str, Any]]]:
    config = workdir / "config.toml"
    config.write_text(DEMO_CONFIG)
    socket = workdir / "patchbay.sock"
    log = (workdir / "patchbayd.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "patchbayd", "run", "--config", str(config),
         "--state-dir", str(workdir / "state"), "--socket", str(socket)],
        stdout=subprocess.DEVNULL, stderr=log if quiet else None,
        env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"})
    try:
        yield socket, _wait_ready(socket, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def run(headless: bool) -> None:
    headless = headless or not (sys.stdin.isatty() and sys.stdout.isatty())
    workdir = Path(tempfile.mkdtemp(prefix="patchbay-demo-"))
    try:
        with running_daemon(workdir, quiet=not headless) as (socket, status):
            if headless:
                click.echo(f"patchbay demo: daemon ready on {socket}")
                click.echo(render.status(status))
                click.echo("patchbay demo: done; stopping the daemon")
            else:
                from .tui.app import PatchbayApp

                PatchbayApp(socket).run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
