"""`patchbayd run`, `patchbayd check-config` and `patchbayd migrate-state`.

Exit codes: 0 ok, 1 could not start (lock held, socket in use, newer schema) or could not
migrate the state, 2 bad config (or a bad command line). A bad config is reported in full:
every error found, one "patchbayd: FILE: KEY: REASON" line each, by every command.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import anyio
import click
import psycopg

from . import __version__
from . import config as config_mod
from .config import Config, ConfigError
from .db import SchemaTooNew
from .db.database import POSTGRES_SCHEMES, UNAVAILABLE, newest_migration, schema_of
from .db.migrate_state import MigrateError, migrate
from .db.postgres import reason, redact, scrub
from .listeners import ListenError
from .log import LogSink
from .service import Service
from .statedir import StateDirError, StateDirLock

SYSTEM_CONFIG = Path("/etc/patchbay/config.toml")
# A database that cannot be reached: a SQLite file we may not read, a server that is down.
UNREACHABLE: tuple[type[Exception], ...] = (OSError, *UNAVAILABLE)


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
    """Validate a config file and reach its database, then exit: 0 valid, 1 database
    unreachable or of a newer schema, 2 invalid (every error found is listed).

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
    where = redact(cfg.database)
    try:
        version = anyio.run(schema_of, cfg.database)
    except UNREACHABLE as exc:
        _fail(f"database {where}: {scrub(str(exc), cfg.database)}", 1)
        return
    newest = newest_migration()
    if version is not None and version > newest:
        _fail(
            f"database {where}: schema version {version} is newer than this patchbayd "
            f"knows ({newest}); upgrade patchbayd",
            1,
        )
    state = "empty (migrated on start)" if version is None else f"schema {version}"
    pending = "" if version is None or version == newest else f", {newest - version} to apply"
    click.echo(f"database {where}: reachable, {state}{pending}")


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
    except UNAVAILABLE as exc:
        _fail(scrub(str(exc), cfg.database), 1)
    except KeyboardInterrupt:
        pass


def _postgres_url(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """--to is checked as the command line is read; the message never repeats the URL,
    which may hold a password."""
    if not value.startswith(POSTGRES_SCHEMES):
        raise click.BadParameter("must be a postgresql:// (or postgres://) URL")
    try:
        redact(value)
    except ValueError:
        raise click.BadParameter("is not a valid URL") from None
    return value


@main.command("migrate-state")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="TOML config file")
@click.option("--state-dir", help="Overrides daemon.state_dir")
@click.option(
    "--to", "target", required=True, callback=_postgres_url, help="postgresql://... (empty)"
)
def migrate_state(config_path: str | None, state_dir: str | None, target: str) -> None:
    """Copy the SQLite state into an empty PostgreSQL database and verify the row counts.

    Stop the daemon first: the copy is one snapshot, so anything written after it began
    would stay behind in SQLite (a daemon holding the state dir is refused). Afterwards
    set `[database] url` in the config to the new database and start the daemon; the
    SQLite file is left as it was, to go back to. Exit 0 copied and verified, 1 refused
    (target not empty, no SQLite state, daemon running) or failed (nothing is kept)."""
    try:
        cfg = _load(config_path).with_overrides(state_dir=state_dir)
    except ConfigError as exc:
        _bad_config(exc)
        return
    where = redact(target)
    if cfg.shared:
        _fail(
            f"the state of {cfg.path} is already PostgreSQL ({redact(cfg.database)}); "
            "migrate-state copies a SQLite state",
            1,
        )
        return
    source = cfg.database
    lock = StateDirLock(cfg.state_dir)
    try:
        if cfg.state_dir.is_dir():
            lock.acquire()
    except StateDirError as exc:
        _fail(f"{exc}: stop it before migrating its state", 1)
        return
    except OSError as exc:
        _fail(f"cannot lock {cfg.state_dir}: {exc.strerror}", 1)
        return

    def progress(table: str, copied: int, total: int) -> None:
        if copied == total or copied % 100_000 == 0:
            click.echo(f"{table}: {copied}/{total} rows", err=True)

    try:
        counts = anyio.run(migrate, source, target, progress)
    except (MigrateError, SchemaTooNew) as exc:
        _fail(scrub(str(exc), target), 1)
        return
    except (psycopg.Error, sqlite3.Error, OSError) as exc:
        # The first line only: a database error's DETAIL lines may quote a row.
        why = reason(exc, target)
        if where not in why:
            why = f"migrating into {where} failed: {why}"
        _fail(why, 1)
        return
    finally:
        lock.release()
    width = max([len("TABLE"), *(len(table) for table in counts)])
    digits = max([len("ROWS"), *(len(str(rows)) for rows in counts.values())])
    click.echo(f"{'TABLE':<{width}}  {'ROWS':>{digits}}")
    for table in sorted(counts):
        click.echo(f"{table:<{width}}  {counts[table]:>{digits}}")
    click.echo(f"copied {sum(counts.values())} rows from {source} into {where}")
    click.echo("verified: every table has the same row count in both")
    config = "the config" if cfg.path.startswith("<") else cfg.path
    click.echo(f"next: set [database] url in {config} to this database, then start patchbayd")
