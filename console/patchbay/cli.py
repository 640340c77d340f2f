"""The `patchbay` command: one click sub-group per noun (integrations, sync, orders,
consent, routes, deliveries, inbox); the README's CLI section lists every command.

Exit codes: 0 ok, 1 operation failed, 2 usage error (click's own), 3 daemon unreachable.
Every command takes --socket and --json, before or after the command name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import anyio
import click

from . import __version__, render
from .client import ApiFailure, ControlClient, DaemonSlow, DaemonUnreachable, socket_path

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED, EXIT_UNREACHABLE = 1, 3


@dataclass
class Context:
    socket: str | None = None
    json: bool = False

    def client(self) -> ControlClient:
        return ControlClient(socket_path(self.socket), timeout=request_timeout())


def request_timeout() -> float:
    """Seconds a command waits for the daemon's answer (PATCHBAY_TIMEOUT, default 30)."""
    raw = os.environ.get("PATCHBAY_TIMEOUT", "")
    try:
        value = float(raw) if raw else 30.0
    except ValueError:
        raise click.UsageError(
            f"PATCHBAY_TIMEOUT must be a number of seconds, got {raw!r}"
        ) from None
    if not 0 < value <= 3600:
        raise click.UsageError("PATCHBAY_TIMEOUT must be between 0 and 3600 seconds")
    return value


def _set_socket(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(Context).socket = value


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Context).json = True


def common(fn: F) -> F:
    """--socket and --json on a command (they are on the group too)."""
    fn = click.option(
        "--socket",
        envvar="PATCHBAY_SOCKET",
        expose_value=False,
        callback=_set_socket,
        help="Control socket of patchbayd",
    )(fn)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Machine output: one JSON document",
    )(fn)


def call(ctx: Context, work: Callable[[ControlClient], Awaitable[T]]) -> T:
    """Run one async exchange with the daemon; map failures to exit codes and one clear line."""

    async def main() -> T:
        async with ctx.client() as client:
            return await work(client)

    try:
        return anyio.run(main)
    except DaemonUnreachable as exc:
        click.echo(f"patchbay: {exc}", err=True)
        click.echo(
            "hint: start it with `patchbayd run` (or `systemctl start patchbay`), "
            "or point --socket / PATCHBAY_SOCKET at it",
            err=True,
        )
        sys.exit(EXIT_UNREACHABLE)
    except DaemonSlow as exc:
        fail(ctx, str(exc), "timeout")
        raise AssertionError("unreachable") from None
    except ApiFailure as exc:
        fail(ctx, exc.message, exc.code)
        raise AssertionError("unreachable") from None


def fail(ctx: Context, message: str, code: str = "failed") -> None:
    if ctx.json:
        click.echo(json.dumps({"error": {"code": code, "message": message}}))
    else:
        click.echo(f"patchbay: {message}", err=True)
    sys.exit(EXIT_FAILED)


def _pairs(values: tuple[str, ...]) -> tuple[str, ...]:
    """--map values are STORE_FIELD=DEST_FIELD (the daemon checks the names)."""
    for value in values:
        source, eq, _dest = value.partition("=")
        if not eq or not source.strip():
            raise click.BadParameter(f"expected STORE_FIELD=DEST_FIELD, got {value!r}")
    return values


def _date(value: str | None) -> str | None:
    """A date (2026-01-31) or an ISO-8601 time, else a usage error."""
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"expected a date like 2026-01-31, got {value!r}") from None
    return value


def confirm(yes: bool, question: str) -> None:
    """Destructive commands ask first; without a terminal to ask on, --yes is required."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError("this needs --yes when not in a terminal")
    click.confirm(question, abort=True)


def output(ctx: Context, data: Any, human: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, indent=2) if ctx.json else human(data))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="patchbay")
@common
@click.pass_context
def main(ctx: click.Context) -> None:
    """patchbay: store customers, loyalty and consent in sync with marketing platforms."""
    ctx.ensure_object(Context)


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@main.command()
@common
@pass_ctx
def status(ctx: Context) -> None:
    """The daemon's version, uptime, addresses and counts, and the socket used."""
    data = call(ctx, lambda c: c.get("/v1/status"))
    data["control_socket"] = str(socket_path(ctx.socket))
    output(ctx, data, lambda d: f"{render.status(d)}\ncontrol socket: {d['control_socket']}")


@main.command()
@click.option("--follow", "-f", is_flag=True, help="Keep streaming new events")
@click.option(
    "--level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Only this level and above",
)
@click.option("--integration", help="Only events of this integration")
@click.option(
    "--lines",
    "-n",
    default=100,
    show_default=True,
    type=click.IntRange(0, 100000),
    help="How many past events to show (older ones come from the daemon's event log table)",
)
@click.option("--since", metavar="T", help="From this time: ISO-8601 or a time ago (2h, 7d)")
@click.option("--until", metavar="T", help="Before this time (not with --follow)")
@common
@pass_ctx
def logs(
    ctx: Context,
    follow: bool,
    level: str | None,
    integration: str | None,
    lines: int,
    since: str | None,
    until: str | None,
) -> None:
    """The daemon's event log (--follow streams it live)."""
    if follow and until:
        raise click.UsageError("--until ends the history; it cannot be followed")
    params = {
        "level": level,
        "integration": integration,
        "backlog": lines,
        "since": since,
        "until": until,
    }
    if not follow:
        data = call(ctx, lambda c: c.get("/v1/log", **params))
        output(ctx, data, lambda d: "\n".join(render.event_line(e) for e in d["events"]))
        return

    async def stream(client: ControlClient) -> None:
        async for event in client.stream("/v1/log", follow=1, **params):
            click.echo(json.dumps(event) if ctx.json else render.event_line(event))

    try:
        call(ctx, stream)
    except KeyboardInterrupt:
        return
    click.echo("patchbay: the daemon closed the log stream (it is stopping)", err=True)


@main.command()
@click.option(
    "--socket",
    envvar="PATCHBAY_SOCKET",
    expose_value=False,
    callback=_set_socket,
    help="Control socket of patchbayd",
)
@pass_ctx
def console(ctx: Context) -> None:
    """The Textual console (TUI) for sysadmins. It needs a daemon to start with (exit 3
    when there is none); one that goes away later is waited for, and shown as gone."""
    if ctx.json:
        raise click.UsageError("the console has no --json; the other commands have")
    call(ctx, lambda c: c.get("/v1/status"))  # never connected: one clear line, exit 3
    from .tui.app import PatchbayApp

    PatchbayApp(socket_path(ctx.socket)).run()


@main.command()
@click.option("--headless", is_flag=True, help="No console: print what happened and exit 0")
def demo(headless: bool) -> None:
    """Daemon + console on a throwaway state dir; no accounts needed."""
    from . import demo as demo_mod

    demo_mod.run(headless)


@main.group()
def integrations() -> None:
    """Connect, inspect and disconnect marketing-platform integrations."""


@integrations.command("list")
@common
@pass_ctx
def integrations_list(ctx: Context) -> None:
    """Every integration, plus the providers not connected yet."""
    output(ctx, call(ctx, lambda c: c.get("/v1/integrations")), render.integration_cards)


@integrations.command("show")
@click.argument("integration_id", metavar="ID")
@common
@pass_ctx
def integrations_show(ctx: Context, integration_id: str) -> None:
    """One integration: state, settings, key fingerprint, recent audit entries."""
    output(
        ctx, call(ctx, lambda c: c.get(f"/v1/integrations/{integration_id}")), render.integration
    )


@integrations.command("check")
@click.argument("integration_id", metavar="ID")
@common
@pass_ctx
def integrations_check(ctx: Context, integration_id: str) -> None:
    """Verify the stored credentials against the provider now."""
    data = call(ctx, lambda c: c.post(f"/v1/integrations/{integration_id}/check"))
    output(ctx, data, render.integration)
    if data["state"] == "error":
        sys.exit(EXIT_FAILED)


def _read_secret(key_file: str | None, key_env: str | None, label: str) -> str:
    """Secrets never travel in argv: a file, an environment variable, or a hidden prompt."""
    if key_file and key_env:
        raise click.UsageError("give --api-key-file or --api-key-env, not both")
    if key_file:
        try:
            with open(key_file) as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise click.UsageError(f"cannot read {key_file}: {exc.strerror}") from None
        if not value:
            raise click.UsageError(f"{key_file} is empty")
        return value
    if key_env:
        value = os.environ.get(key_env, "").strip()
        if not value:
            raise click.UsageError(f"environment variable {key_env} is not set")
        return value
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"no {label}: give --api-key-file or --api-key-env "
            "(or run in a terminal to be prompted)"
        )
    return str(click.prompt(label, hide_input=True)).strip()


@integrations.command("connect")
@click.argument("provider")
@click.option("--store", required=True, help="Store name from the daemon's config")
@click.option(
    "--api-key-file", type=click.Path(dir_okay=False), help="File holding the key/secret/token"
)
@click.option("--api-key-env", metavar="VAR", help="Environment variable holding it")
@click.option("--base-url", help="API address (sandbox, proxy, or the webhook URL)")
@click.option("--rate-limit", help="e.g. 400/min; default: the provider's documented limit")
@click.option("--client-id", help="SALESmanago client id")
@click.option("--owner", help="SALESmanago owner (account user's email)")
@click.option("--server", help="SALESmanago server, e.g. app3")
@click.option(
    "--opt-out-guard",
    metavar="DURATION",
    help="Hold back store-side opt-outs sooner than this after registration (default 15m)",
)
@click.option(
    "--fetch-on-register",
    type=click.Choice(["on", "off"]),
    help="Look up new customers without consent at the provider (default on)",
)
@common
@pass_ctx
def integrations_connect(
    ctx: Context,
    /,
    provider: str,
    store: str,
    api_key_file: str | None,
    api_key_env: str | None,
    **options: str | None,
) -> None:
    """Verify credentials with PROVIDER and, if they work, connect it to a store.

    The key is read from --api-key-file, --api-key-env or a hidden prompt, never from
    the command line. A wrong key exits 1 with the provider's reason; nothing is stored.
    PROVIDER is one the daemon knows (GET /v1/providers; `integrations list` shows them).
    """
    spec = _provider_spec(ctx, provider)
    secret = _read_secret(api_key_file, api_key_env, str(spec.get("secret") or "API key"))
    body = {
        "provider": provider,
        "store": store,
        "secret": secret,
        "settings": {k: v for k, v in options.items() if v is not None},
    }
    data = call(ctx, lambda c: c.post("/v1/integrations", body))
    output(
        ctx,
        data,
        lambda d: (
            f"connected: integration {d['id']} ({d['provider']} → "
            f"{d['store']}, account {d['account']})"
        ),
    )


def _provider_spec(ctx: Context, provider: str) -> dict[str, Any]:
    """The daemon's description of PROVIDER; one it does not know is a usage error."""
    listing = call(ctx, lambda c: c.get("/v1/providers"))
    specs = {str(p["name"]): p for p in listing["providers"]}
    if provider not in specs:
        raise click.BadParameter(
            f"unknown provider {provider!r}; one of {', '.join(specs) or '(none)'}",
            param_hint="PROVIDER",
        )
    return dict(specs[provider])


@integrations.command("disconnect")
@click.argument("integration_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation")
@common
@pass_ctx
def integrations_disconnect(ctx: Context, integration_id: str, yes: bool) -> None:
    """Stop all traffic of an integration at once and wipe its credentials."""
    confirm(
        yes,
        f"Disconnect integration {integration_id}? Its traffic stops and its credentials are wiped",
    )
    data = call(ctx, lambda c: c.delete(f"/v1/integrations/{integration_id}"))
    output(
        ctx,
        data,
        lambda d: (
            f"disconnected: integration {d['disconnected']} ({d['provider']}); credentials wiped"
            + (
                f"\nsyncs {', '.join(map(str, d['syncs_in_error']))} are in error: they sent "
                "to it (delete them, or connect again and start them)"
                if d.get("syncs_in_error")
                else ""
            )
        ),
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8790, show_default=True, type=click.IntRange(0, 65535))
def sandbox(host: str, port: int) -> None:
    """Simulated Shopify shop and provider accounts on one loopback port."""
    sys.exit(
        run_child([sys.executable, "-m", "patchbayd.sandbox", "--host", host, "--port", str(port)])
    )


def run_child(argv: list[str]) -> int:
    """Run `argv` in the foreground until it exits; its exit code is ours. Ctrl-C and
    SIGTERM are passed on to it (it stops itself), and it is killed if it does not."""
    proc = subprocess.Popen(argv)
    stopping: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.append(signum)
        if proc.poll() is None:
            proc.terminate()

    previous = {
        signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        deadline = None
        while True:
            try:
                code = proc.wait(0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping and deadline is None:
                    deadline = time.monotonic() + 15
                if deadline is not None and time.monotonic() > deadline:
                    proc.kill()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code if code >= 0 else 128 - code


@main.group()
def sync() -> None:
    """Send a store segment's contacts to an integration, continuously or once."""


@sync.command("create")
@click.argument("integration", type=int)
@click.option(
    "--segment",
    required=True,
    type=click.Choice(["all", "subscribers", "new", "returning", "abandoned_checkout"]),
)
@click.option("--list", "destination", help="Destination list/audience (id or name)")
@click.option("--mode", type=click.Choice(["active", "once"]), default="active", show_default=True)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="STORE_FIELD=DEST_FIELD",
    callback=lambda _c, _p, values: _pairs(values),
    help="Map a store field to a destination field (repeatable)",
)
@click.option("--tags", help="Tags added to every contact: comma-separated, no spaces")
@click.option("--export-opted-out", is_flag=True, help="Also send contacts without consent")
@click.option(
    "--acquired-since",
    metavar="DATE",
    callback=lambda _c, _p, value: _date(value),
    help="Only customers registered on/after (2026-01-31 or an ISO-8601 time)",
)
@click.option(
    "--acquired-until",
    metavar="DATE",
    callback=lambda _c, _p, value: _date(value),
    help="Only customers registered before",
)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and store nothing")
@common
@pass_ctx
def sync_create(
    ctx: Context,
    /,
    integration: int,
    segment: str,
    destination: str | None,
    mode: str,
    mapping: tuple[str, ...],
    tags: str | None,
    export_opted_out: bool,
    acquired_since: str | None,
    acquired_until: str | None,
    dry_run: bool,
) -> None:
    """Create a sync from INTEGRATION's store to its provider (and start it)."""
    body = {
        "integration": integration,
        "segment": segment,
        "list": destination,
        "mode": mode,
        "map": list(mapping),
        "tags": tags,
        "export_opted_out": export_opted_out,
        "acquired_since": acquired_since,
        "acquired_until": acquired_until,
        "dry_run": dry_run,
    }
    data = call(ctx, lambda c: c.post("/v1/syncs", body))
    output(
        ctx,
        data,
        render.dry_run
        if dry_run
        else lambda d: (
            f"sync {d['id']} created ({d['mode']}, segment {d['segment']}); "
            f"follow it with: patchbay sync progress {d['id']} --follow"
        ),
    )


@sync.command("list")
@common
@pass_ctx
def sync_list(ctx: Context) -> None:
    """Every sync with its state and last run."""
    output(ctx, call(ctx, lambda c: c.get("/v1/syncs")), render.syncs)


@sync.command("show")
@click.argument("sync_id", metavar="ID")
@common
@pass_ctx
def sync_show(ctx: Context, sync_id: str) -> None:
    """A sync's settings, recent runs and the last failures with their reasons."""
    output(ctx, call(ctx, lambda c: c.get(f"/v1/syncs/{sync_id}")), render.sync)


def _sync_action(name: str, verb: str, help_text: str) -> None:
    @sync.command(name, help=help_text)
    @click.argument("sync_id", metavar="ID")
    @common
    @pass_ctx
    def action(ctx: Context, sync_id: str) -> None:
        data = call(ctx, lambda c: c.post(f"/v1/syncs/{sync_id}/{verb}"))
        output(ctx, data, lambda d: f"sync {sync_id}: {name} requested")


_sync_action("start", "start", "Start (or resume) a sync.")
_sync_action("stop", "stop", "Stop a sync; a later start picks up where it left off.")


@sync.command("run")
@click.argument("sync_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing")
@common
@pass_ctx
def sync_run(ctx: Context, sync_id: str, dry_run: bool) -> None:
    """Run a sync now (only what changed, plus earlier failures)."""
    # The wish travels in the body: it cannot be lost the way a query string was.
    data = call(ctx, lambda c: c.post(f"/v1/syncs/{sync_id}/run", {"dry_run": dry_run}))
    output(ctx, data, render.dry_run if dry_run else lambda d: f"sync {sync_id}: run requested")


@sync.command("delete")
@click.argument("sync_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation")
@common
@pass_ctx
def sync_delete(ctx: Context, sync_id: str, yes: bool) -> None:
    """Stop and delete a sync (what it sent stays at the destination)."""
    confirm(yes, f"Delete sync {sync_id}?")
    data = call(ctx, lambda c: c.delete(f"/v1/syncs/{sync_id}"))
    output(ctx, data, lambda d: f"sync {sync_id} deleted")


@sync.command("progress")
@click.argument("sync_id", metavar="ID")
@click.option("--follow", "-f", is_flag=True, help="Draw a live progress bar until it ends")
@common
@pass_ctx
def sync_progress(ctx: Context, sync_id: str, follow: bool) -> None:
    """Where a sync's run is: scanned, filtered by reason, sent, failed; --follow: a bar
    with rows/s and the time left."""
    if not follow:
        output(
            ctx,
            call(ctx, lambda c: c.get(f"/v1/syncs/{sync_id}/progress")),
            render.progress_snapshot,
        )
        return
    live = sys.stdout.isatty() and not ctx.json
    # The rate and the ETA, from the rows scanned by the times the daemon stamped its
    # events with (its clock, so a slow terminal or a late event does not skew them).
    samples: tuple[render.Sample, ...] = ()

    async def watch(client: ControlClient) -> None:
        nonlocal samples
        async for event in client.stream(f"/v1/syncs/{sync_id}/progress", follow=1):
            if "fields" not in event:  # the snapshot that opens the stream
                if ctx.json:
                    click.echo(json.dumps(event))
                elif not event.get("running"):
                    click.echo(render.progress_snapshot(event))
                    return
                continue
            fields = event["fields"]
            at = render.seconds_of(event.get("ts"))
            if at is not None and isinstance(fields.get("scanned"), int):
                samples = render.observe(samples, at, fields["scanned"])
            if ctx.json:
                click.echo(json.dumps(fields))
                continue
            found = render.pace(samples, fields.get("total"))
            line = render.progress_bar(fields, found=found)
            if live:  # one line redrawn: cut to the terminal, the rest of it cleared
                width = shutil.get_terminal_size().columns - 1
                click.echo("\r" + line[:width] + "\x1b[K", nl=False)
            else:
                click.echo(line)
            if fields.get("done"):
                if live:
                    click.echo()
                return

    try:
        call(ctx, watch)
    except KeyboardInterrupt:
        return


@main.group()
def orders() -> None:
    """Confirmed and paid orders, exported exactly once per integration."""


@orders.command("export")
@click.argument("integration", type=int)
@click.option(
    "--mode",
    type=click.Choice(["active", "once"]),
    default="active",
    show_default=True,
    help="active: new paid orders follow by themselves",
)
@click.option(
    "--wait",
    "-w",
    is_flag=True,
    help="Follow it to its end with a progress bar (exit 1 if it fails)",
)
@common
@pass_ctx
def orders_export(ctx: Context, integration: int, mode: str, wait: bool) -> None:
    """Send INTEGRATION's store orders not yet at the destination (each exactly once). The
    daemon starts the export and answers at once; one runs per integration at a time
    (asking again while it runs answers that one)."""
    data = call(
        ctx, lambda c: c.post(f"/v1/integrations/{integration}/orders/export", {"mode": mode})
    )
    if not wait:
        output(ctx, data, render.order_export_started)
        return
    if not ctx.json:
        click.echo(render.order_export_started(data, hint=False))
    final = _follow_export(ctx, integration, int(data["id"]))
    output(ctx, final, render.order_export)
    if final["state"] == "failed":
        sys.exit(EXIT_FAILED)


@orders.command("status")
@click.argument("integration", type=int)
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Follow the export under way to its end with a progress bar (exit 1 if it fails)",
)
@common
@pass_ctx
def orders_status(ctx: Context, integration: int, follow: bool) -> None:
    """INTEGRATION's order ledger (orders per state), its newest export and the orders
    that failed, are in doubt or were never sent (ineligible)."""
    path = f"/v1/integrations/{integration}/orders"
    data = call(ctx, lambda c: c.get(path))
    export = data.get("export")
    if follow and export is not None and export["state"] == "running":
        _follow_export(ctx, integration, int(export["id"]))
        data = call(ctx, lambda c: c.get(path))
        export = data.get("export")
    output(ctx, data, render.order_status)
    if follow and export is not None and export["state"] == "failed":
        sys.exit(EXIT_FAILED)


def _follow_export(ctx: Context, integration: int, export_id: int) -> dict[str, Any]:
    """Draw an order export's progress until it ends (a bar redrawn on a terminal, plain
    lines otherwise, nothing with --json); the export as it ended. Ctrl-C stops following,
    never the export (exit 130)."""
    live = sys.stdout.isatty() and not ctx.json
    path = f"/v1/integrations/{integration}/orders/export"
    samples: tuple[render.Sample, ...] = ()
    drawn = False

    async def watch(client: ControlClient) -> dict[str, Any] | None:
        nonlocal samples, drawn
        async for event in client.stream(path, export=export_id, follow=1):
            export = event.get("fields", event)  # the snapshot is the export itself
            at = render.seconds_of(event["ts"]) if "fields" in event else None
            if at is not None:
                samples = render.observe(samples, at, render.order_through(export))
            if export.get("state") != "running":
                break
            if ctx.json:
                continue
            line = render.order_export_bar(export, render.pace(samples, export.get("total")))
            if live:  # one line redrawn: cut to the terminal, the rest of it cleared
                width = shutil.get_terminal_size().columns - 1
                click.echo("\r" + line[:width] + "\x1b[K", nl=False)
                drawn = True
            else:
                click.echo(line)
        else:
            return None  # the daemon closed the stream (stopping)
        ended: dict[str, Any] = await client.get(path, export=export_id)
        return ended

    try:
        final = call(ctx, watch)
    except KeyboardInterrupt:
        if drawn:
            click.echo()
        click.echo(
            f"patchbay: stopped following; order export {export_id} goes on in the daemon "
            f"(patchbay orders status {integration} --follow)",
            err=True,
        )
        sys.exit(130)
    if drawn:
        click.echo()
    if final is None:
        fail(
            ctx,
            f"patchbayd closed the stream before order export {export_id} ended; it goes on "
            f"when the daemon starts again (patchbay orders status {integration})",
            "interrupted",
        )
        raise AssertionError("unreachable")
    return final


@main.group()
def consent() -> None:
    """Marketing consent: state per contact, the audit trail, held-back opt-outs."""


@consent.command("show")
@click.argument("email")
@common
@pass_ctx
def consent_show(ctx: Context, email: str) -> None:
    """EMAIL's consent in each store and at each integration (asked live)."""
    output(ctx, call(ctx, lambda c: c.get(f"/v1/consent/{email}")), render.consent)


@consent.command("history")
@click.argument("email")
@common
@pass_ctx
def consent_history(ctx: Context, email: str) -> None:
    """Every consent decision about EMAIL: applied, suppressed, stale, duplicate."""
    output(
        ctx,
        call(ctx, lambda c: c.get(f"/v1/consent/{email}/history")),
        lambda d: render.audit(d["history"]) or f"no consent decisions about {email}",
    )


@consent.command("suppressed")
@common
@pass_ctx
def consent_suppressed(ctx: Context) -> None:
    """Store-side opt-outs held back by the opt-out guard, for review."""
    output(
        ctx,
        call(ctx, lambda c: c.get("/v1/consent/suppressed")),
        lambda d: render.audit(d["suppressed"]) or "nothing held back",
    )


@main.group()
def inbox() -> None:
    """Incoming data that could not be processed: quarantined rows, and replay."""


@inbox.command("quarantined")
@common
@pass_ctx
def inbox_quarantined(ctx: Context) -> None:
    """Rows set aside with their error (the rows behind them went on)."""
    output(ctx, call(ctx, lambda c: c.get("/v1/inbox/quarantined")), render.quarantined)


@inbox.command("replay")
@click.argument("inbox_id", metavar="ID", type=int)
@common
@pass_ctx
def inbox_replay(ctx: Context, inbox_id: int) -> None:
    """Process quarantined row ID again (after the cause was fixed)."""
    data = call(ctx, lambda c: c.post(f"/v1/inbox/{inbox_id}/replay"))
    output(ctx, data, lambda d: f"inbox row {d['replayed']} queued for processing again")


@main.group()
def routes() -> None:
    """Workflows: an event trigger, conditions, actions at a provider (TOML files)."""


@routes.command("list")
@common
@pass_ctx
def routes_list(ctx: Context) -> None:
    """Every route: trigger, provider, stores, switch, deliveries in the last hour."""
    output(ctx, call(ctx, lambda c: c.get("/v1/routes")), render.routes)


@routes.command("show")
@click.argument("route_id", metavar="ID", type=int)
@common
@pass_ctx
def routes_show(ctx: Context, route_id: int) -> None:
    """One route, as the TOML it exports to."""
    output(ctx, call(ctx, lambda c: c.get(f"/v1/routes/{route_id}")), render.route)


@routes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="Overwrite routes of the same name")
@common
@pass_ctx
def routes_import(ctx: Context, file: str, replace: bool) -> None:
    """Import the routes in FILE (TOML, one or more [[route]] tables; - reads stdin).

    Everything is checked first (fields, conditions, Liquid templates, stores where the
    provider is installed): one error and nothing is imported.
    """
    text = _read_text(file)
    body = {"toml": text, "file": file, "replace": replace}
    data = call(ctx, lambda c: c.post("/v1/routes/import", body))
    output(ctx, data, render.route_import)


@routes.command("examples")
@click.option("--show", "name", metavar="NAME", help="Print example NAME's TOML")
@common
@pass_ctx
def routes_examples(ctx: Context, name: str | None) -> None:
    """The example routes the daemon ships; --show NAME prints one, ready for
    `patchbay routes import -` (or to save and edit first)."""
    listed = call(ctx, lambda c: c.get("/v1/routes/examples"))["examples"]
    if name is None:
        output(ctx, {"examples": listed}, render.route_examples)
        return
    found = {e["name"]: e for e in listed}
    if name not in found:
        raise click.BadParameter(
            f"no example {name!r}; one of {', '.join(found) or '(none)'}", param_hint="--show"
        )
    if ctx.json:
        click.echo(json.dumps(found[name], indent=2))
    else:
        click.echo(found[name]["toml"], nl=False)


@routes.command("export")
@click.argument("route_id", metavar="ID", type=int)
@click.option(
    "-o",
    "--output",
    "path",
    type=click.Path(dir_okay=False),
    help="Write to this file (default: stdout)",
)
@common
@pass_ctx
def routes_export(ctx: Context, route_id: int, path: str | None) -> None:
    """The route as a TOML file, importable as it is (here or elsewhere)."""
    data = call(ctx, lambda c: c.get(f"/v1/routes/{route_id}"))
    if path:
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(data["toml"])
        except OSError as exc:
            fail(ctx, f"cannot write {path}: {exc.strerror}")
        if ctx.json:
            click.echo(json.dumps({"written": path, "route": route_id}))
        else:
            click.echo(f"route {route_id} written to {path}", err=True)
    elif ctx.json:
        click.echo(json.dumps({"toml": data["toml"]}))
    else:
        click.echo(data["toml"], nl=False)


def _read_text(file: str) -> str:
    """A file (or - for stdin) as UTF-8 text; anything else is a usage error, not a
    traceback."""
    try:
        with click.open_file(file, encoding="utf-8") as handle:
            return str(handle.read())
    except UnicodeDecodeError:
        raise click.UsageError(f"{file}: not UTF-8 text") from None
    except OSError as exc:
        raise click.UsageError(f"cannot read {file}: {exc.strerror}") from None


def _route_switch(name: str, enabled: bool) -> None:
    @routes.command(name)
    @click.argument("route_id", metavar="ID", type=int)
    @common
    @pass_ctx
    def switch(ctx: Context, route_id: int) -> None:
        data = call(ctx, lambda c: c.post(f"/v1/routes/{route_id}/{name}"))
        output(ctx, data, lambda d: f"route {d['id']} {'enabled' if d['enabled'] else 'disabled'}")

    switch.help = f"{name.capitalize()} route ID (for events from now on)."


_route_switch("enable", True)
_route_switch("disable", False)


@routes.command("delete")
@click.argument("route_id", metavar="ID", type=int)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation")
@common
@pass_ctx
def routes_delete(ctx: Context, route_id: int, yes: bool) -> None:
    """Delete route ID (its past deliveries stay listed)."""
    confirm(yes, f"Delete route {route_id}?")
    data = call(ctx, lambda c: c.delete(f"/v1/routes/{route_id}"))
    output(ctx, data, lambda d: f"route {d['deleted']} ({d['name']}) deleted")


@routes.command("test")
@click.argument("route_id", metavar="ID", type=int)
@click.option(
    "--event",
    "event_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="A JSON event: {type, customer, data} as pushed to /ingest/STORE/events",
)
@common
@pass_ctx
def routes_test(ctx: Context, route_id: int, event_file: str) -> None:
    """What each action of route ID would send for the event in FILE; sends nothing."""
    try:
        event = json.loads(_read_text(event_file))
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{event_file}: not JSON: {exc}") from None
    data = call(ctx, lambda c: c.post(f"/v1/routes/{route_id}/test", {"event": event}))
    output(ctx, data, render.route_test)


@main.group()
def deliveries() -> None:
    """Route deliveries through the outbox: pending, retrying, delivered, dead."""


@deliveries.command("list")
@click.option("--status", type=click.Choice(["pending", "retrying", "delivered", "dead"]))
@click.option("--route", "route_id", type=int, help="Only this route's")
@click.option("--integration", "integration_id", type=int, help="Only this integration's")
@click.option("-n", "--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@common
@pass_ctx
def deliveries_list(
    ctx: Context, status: str | None, route_id: int | None, integration_id: int | None, limit: int
) -> None:
    """Newest first, with attempts and the last error."""
    params = {"status": status, "route": route_id, "integration": integration_id, "limit": limit}
    output(ctx, call(ctx, lambda c: c.get("/v1/deliveries", **params)), render.deliveries)


@deliveries.command("show")
@click.argument("delivery_id", metavar="ID", type=int)
@common
@pass_ctx
def deliveries_show(ctx: Context, delivery_id: int) -> None:
    """One delivery: its stored payload (exactly what is sent), attempts, last error."""
    output(ctx, call(ctx, lambda c: c.get(f"/v1/deliveries/{delivery_id}")), render.delivery)


@deliveries.command("replay")
@click.argument("delivery_id", metavar="ID", type=int, required=False)
@click.option("--dead", is_flag=True, help="Every dead delivery (of --route, if given)")
@click.option("--route", "route_id", type=int, help="With --dead: only this route's")
@common
@pass_ctx
def deliveries_replay(
    ctx: Context, delivery_id: int | None, dead: bool, route_id: int | None
) -> None:
    """Send delivery ID (or every dead one) again: the stored payload, a fresh retry
    budget, the same idempotency key."""
    if (delivery_id is None) == (not dead):
        raise click.UsageError("give a delivery ID or --dead (not both)")
    if dead:
        data = call(ctx, lambda c: c.post("/v1/deliveries/replay-dead", {"route": route_id}))
    else:
        data = call(ctx, lambda c: c.post(f"/v1/deliveries/{delivery_id}/replay"))
    output(
        ctx,
        data,
        lambda d: (
            f"replayed {d['replayed']} deliveries"
            + (f": {', '.join(map(str, d['ids']))}" if d["ids"] else "")
        ),
    )
