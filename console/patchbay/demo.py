"""`patchbay demo`: sandbox + daemon + console on a throwaway state dir, no accounts needed.

It starts `patchbay sandbox` on a free loopback port, seeds the simulated shop, starts a
daemon whose Shopify store is that shop, connects every provider to its sandbox account
through the control API (the same path as `patchbay integrations connect`), imports two
of the shipped example routes and pushes loyalty events they deliver, then opens
the console, or without a terminal prints what it did. Everything is stopped and the
state dir deleted afterwards.
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
from typing import IO, Any

import anyio
import click
import httpx

from . import render
from .client import ApiFailure, ControlClient, DaemonUnreachable

SHOP = "patchbay-demo"
SEED_CUSTOMERS = 120
DEMO_CONFIG = """\
[daemon]
listen = "127.0.0.1:0"

[stores.demo]
kind = "push"
ingest_token = "demo-token"

[stores.sandbox]
kind = "shopify"
shop = "{shop}"
base_url = "{sandbox}/shopify/{shop}"
access_token = "sandbox-shopify-token"
webhook_secret = "sandbox-webhook-secret"
"""


def demo_integrations(sandbox: str) -> list[dict[str, Any]]:
    """One connect request per provider, each aimed at its sandbox account."""
    return [
        {
            "provider": "omnisend",
            "secret": "sandbox-omnisend-key",
            "settings": {"base_url": f"{sandbox}/omnisend"},
        },
        {
            "provider": "klaviyo",
            "secret": "sandbox-klaviyo-key",
            "settings": {"base_url": f"{sandbox}/klaviyo"},
        },
        {
            "provider": "salesmanago",
            "secret": "sandbox-secret",
            "settings": {
                "base_url": f"{sandbox}/salesmanago",
                "client_id": "demo-client",
                "owner": "owner@example.com",
            },
        },
        {
            "provider": "benchmark",
            "secret": "sandbox-benchmark-token",
            "settings": {"base_url": f"{sandbox}/benchmark"},
        },
        {
            "provider": "mailchimp",
            "secret": "sandbox-mailchimp-key-us1",
            "settings": {"base_url": f"{sandbox}/mailchimp/3.0"},
        },
        {
            "provider": "webhook",
            "secret": "sandbox-webhook-signing",
            "settings": {"base_url": f"{sandbox}/webhook/demo"},
        },
    ]


def _first_line(proc: subprocess.Popen[str], what: str, timeout: float = 20) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and not line:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise click.ClickException(f"{what} exited with code {proc.returncode}")
    if not line:
        raise click.ClickException(f"{what} did not start in time")
    return line.strip()


def _status(
    socket: Path, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20
) -> dict[str, Any]:
    """The daemon's status, waiting for it to answer (and failing if it died)."""

    async def ask() -> dict[str, Any]:
        async with ControlClient(socket, timeout=2) as client:
            result: dict[str, Any] = await client.get("/v1/status")
            return result

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise click.ClickException(f"patchbayd exited with code {proc.returncode}")
        with contextlib.suppress(DaemonUnreachable, ApiFailure):
            return anyio.run(ask)
        time.sleep(0.05)
    raise click.ClickException("patchbayd did not answer in time")


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running_sandbox() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "patchbayd.sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield _first_line(proc, "the sandbox").rsplit(" ", 1)[-1]
    finally:
        _stop(proc)


@contextlib.contextmanager
def running_daemon(workdir: Path, sandbox: str, log: IO[bytes] | None) -> Iterator[Path]:
    config = workdir / "config.toml"
    config.write_text(DEMO_CONFIG.format(shop=SHOP, sandbox=sandbox))
    socket = workdir / "patchbay.sock"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "patchbayd",
            "run",
            "--config",
            str(config),
            "--state-dir",
            str(workdir / "state"),
            "--socket",
            str(socket),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
    )
    try:
        _status(socket, proc)
        yield socket
    finally:
        _stop(proc)


def connect_all(socket: Path, sandbox: str) -> list[str]:
    async def go() -> list[str]:
        lines = []
        async with ControlClient(socket, timeout=30) as client:
            for request in demo_integrations(sandbox):
                try:
                    made = await client.post("/v1/integrations", {**request, "store": "sandbox"})
                    lines.append(
                        f"  #{made['id']} {made['provider']}: {made['state']} ({made['account']})"
                    )
                except ApiFailure as exc:
                    lines.append(f"  {request['provider']}: not connected: {exc.message}")
        return lines

    return anyio.run(go)


def start_flows(socket: Path) -> list[str]:
    """An active sync of the shop's subscribers to Omnisend, orders followed to Klaviyo."""

    async def go() -> list[str]:
        async with ControlClient(socket, timeout=60) as client:
            listed = await client.get("/v1/integrations")
            ids = {i["provider"]: i["id"] for i in listed["integrations"]}
            lines = []
            if "omnisend" in ids:
                made = await client.post(
                    "/v1/syncs",
                    {
                        "integration": ids["omnisend"],
                        "segment": "subscribers",
                        "mode": "active",
                        "tags": "demo",
                    },
                )
                lines.append(f"  sync {made['id']}: subscribers -> omnisend (active)")
            if "klaviyo" in ids:
                # The export goes on in the daemon: follow it to its end for the summary.
                path = f"/v1/integrations/{ids['klaviyo']}/orders/export"
                started = await client.post(path, {"mode": "active"})
                async for event in client.stream(path, export=started["id"], follow=1):
                    if event.get("fields", event).get("state") != "running":
                        break
                report = await client.get(path, export=started["id"])
                ineligible = report.get("ineligible") or 0
                lines.append(
                    f"  orders -> klaviyo: {report['sent']} sent (active)"
                    + (
                        f", {ineligible} to addresses a sync would not send to"
                        if ineligible
                        else ""
                    )
                )
            return lines

    return anyio.run(go)


DEMO_ROUTES = ("wallet_coins_awarded", "referral_completed")


def start_routes(socket: Path, sandbox: str) -> list[str]:
    """The loyalty app's side: Omnisend and Klaviyo on the push store, two of the example
    routes the daemon ships (GET /v1/routes/examples) imported, and a few loyalty events
    pushed that they deliver."""

    async def go() -> list[str]:
        lines = []
        async with ControlClient(socket, timeout=30) as client:
            for request in demo_integrations(sandbox)[:2]:
                await client.post("/v1/integrations", {**request, "store": "demo"})
            route_ids = []
            shipped = {
                e["name"]: e["toml"] for e in (await client.get("/v1/routes/examples"))["examples"]
            }
            for name in DEMO_ROUTES:
                if name not in shipped:
                    raise click.ClickException(f"the daemon ships no example route {name!r}")
                made = await client.post(
                    "/v1/routes/import", {"toml": shipped[name], "file": f"{name}.toml"}
                )
                route_ids += made["imported"]
                lines.append(f"  route {made['imported'][0]}: {name} (example)")
            listen = (await client.get("/v1/status"))["listen"]
        events = [
            {
                "id": f"demo-{i}",
                "type": kind,
                "occurred_at": "2026-11-22T10:00:00Z",
                "customer": {"id": f"m{i}", "email": f"member{i}@example.com"},
                "data": data,
            }
            for i, (kind, data) in enumerate(
                [
                    ("loyalty.points_awarded", {"points": 50, "balance": 50 + 10 * n})
                    for n in range(3)
                ]
                + [
                    (
                        "referral.completed",
                        {"referred_email": "friend@example.com", "reward_points": 100},
                    )
                ]
            )
        ]
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"http://{listen}/ingest/demo/events",
                json={"items": events},
                headers={"Authorization": "Bearer demo-token"},
            )
            answer.raise_for_status()
        delivered = 0
        async with ControlClient(socket, timeout=10) as client:
            for _ in range(100):
                delivered = 0
                for route_id in route_ids:
                    done = await client.get("/v1/deliveries", status="delivered", route=route_id)
                    delivered += len(done["deliveries"])
                if delivered >= len(events):
                    break
                await anyio.sleep(0.1)
        lines.append(f"  {len(events)} loyalty events pushed: {delivered} deliveries delivered")
        return lines

    return anyio.run(go)


def _sync_report(socket: Path, timeout: float = 30) -> str:
    async def ask() -> dict[str, Any]:
        async with ControlClient(socket, timeout=5) as client:
            result: dict[str, Any] = await client.get("/v1/syncs/1")
            return result

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = anyio.run(ask)
        runs = [r for r in data["runs"] if r["state"] != "running"]
        if runs:
            return f"  sync 1 run {runs[0]['id']} {runs[0]['state']}: " + render.counts_line(
                runs[0]["counts"]
            )
        time.sleep(0.2)
    return "  sync 1 still running"


def run(headless: bool) -> None:
    headless = headless or not (sys.stdin.isatty() and sys.stdout.isatty())
    workdir = Path(tempfile.mkdtemp(prefix="patchbay-demo-"))
    log = None if headless else (workdir / "patchbayd.log").open("wb")
    try:
        with running_sandbox() as sandbox:
            seeded = httpx.post(
                f"{sandbox}/_sandbox/shopify/{SHOP}/seed",
                json={"customers": SEED_CUSTOMERS, "orders": 40},
                timeout=30,
            )
            seeded.raise_for_status()
            with running_daemon(workdir, sandbox, log) as socket:
                connected = connect_all(socket, sandbox)
                _wait_for_import(socket)
                flows = start_flows(socket) + start_routes(socket, sandbox)
                if not headless:
                    from .tui.app import PatchbayApp

                    PatchbayApp(socket).run()
                    return
                click.echo(
                    f"patchbay demo: sandbox on {sandbox} (shop {SHOP}, {SEED_CUSTOMERS} customers)"
                )
                click.echo(f"patchbay demo: daemon ready on {socket}")
                click.echo("patchbay demo: integrations connected through the control API:")
                click.echo("\n".join(connected))
                click.echo("patchbay demo: data flowing:")
                click.echo("\n".join(flows))
                click.echo(_sync_report(socket))
                click.echo(render.status(_status(socket)))
                click.echo("patchbay demo: done; stopping the daemon and the sandbox")
    finally:
        if log is not None:
            log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_import(socket: Path, timeout: float = 20) -> None:
    """Until the sandbox shop's customers are in the store's table (or time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _status(socket)["counts"]["customers"] < SEED_CUSTOMERS:
        time.sleep(0.2)
