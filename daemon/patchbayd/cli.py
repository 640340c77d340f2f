"""`patchbayd run` and `patchbayd check-config`.

Exit codes: 0 ok, 1 could not start (lock held, socket in use, newer schema), 2 bad config
(or a bad command line). A bad config is reported in full: every error found, one
"patchbayd: FILE: KEY: REASON" line each, by both commands.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import click

from . import __version__
from . import config as config_mod
from .config import Config, ConfigError
from .db import SchemaTooNew
from .listeners import ListenError
from .log import LogSink
from .service import Service
from .statedir import StateDirError

SYSTEM_CONFIG = Path("/etc/patchbay/config.toml")


def _load(path: str | None) -> Config:
    """The named file; else $PATCHBAY_CONFIG; else /etc/patchbay/config.toml; else defaults."""
    chosen = path or os.environ.get("PATCHBAY_CONFIG")
    if chosen:
        return config_mod.load(chosen)
    if SYSTEM_CONFIG.exists():
        return config_mod.load(SYSTEM_CONFIG)
    return config_mod.parse("", "<defaults>")


def _fail(message: str, code: int) -> None:
    click.echo(f"patchbayd: {message}", err=True)
    sys.exit(code)


def _bad_config(exc: ConfigError) -> None:
    """Every error, one a line, then how many if more than one; exit 2."""
    for error in exc.errors:
        click.echo(f"patchbayd: {error}", err=True)
    if len(exc.errors) > 1:
        click.echo(f"patchbayd: {len(exc.errors)} errors in {exc.file}", err=True)
    sys.exit(2)


def _listen_flag(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--listen is checked as the command line is read: a usage error naming it once."""
    if value is not None:
        try:
            config_mod.parse_listen(value, "", "--listen")
        except ConfigError as exc:
            raise click.BadParameter(exc.reason) from None
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="patchbayd")
def main() -> None:
    """patchbay daemon: syncs contacts, delivers events, reconciles consent."""


@main.command("check-config")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML config file")
def check_config(config_path: str | None) -> None:
    """Validate a config file and exit (0 valid, 2 invalid: every error found is listed).

    The unit runs this before each reload, so `systemctl reload` fails on a bad file."""
    try:
        cfg = _load(config_path)
    except ConfigError as exc:
        _bad_config(exc)
        return
    click.echo(
        f"{cfg.path}: ok ({len(cfg.stores)} stores; state_dir {cfg.state_dir}; "
        f"socket {cfg.socket}; listen {cfg.listen})"
    )


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML config file")
@click.option("--state-dir", help="Overrides daemon.state_dir")
@click.option("--socket", "socket_path", help="Overrides daemon.socket")
@click.option("--listen", callback=_listen_flag, help="Overrides daemon.listen (HOST:PORT)")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), help="Overrides daemon.log_format"
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
def run(
    config_path: str | None,
    state_dir: str | None,
    socket_path: str | None,
    listen: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run in the foreground (systemd Type=notify)."""

    def load() -> Config:
        cfg = _load(config_path).with_overrides(
            state_dir=state_dir, socket=socket_path, listen=listen
        )
        return cfg

    try:
        cfg = load()
    except ConfigError as exc:
        _bad_config(exc)
        return
    os.umask(0o077)  # the database, its WAL and every file we write are private
    sink = LogSink(level=log_level or cfg.log_level, fmt=log_format or cfg.log_format)
    service = Service(cfg, sink=sink, reload_config=load)
    try:
        anyio.run(service.run)
    except (StateDirError, ListenError, SchemaTooNew) as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        pass
