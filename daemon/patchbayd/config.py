"""TOML config -> frozen dataclasses.

Every error names the file, the key (or line) and the reason, because the person reading
it is a sysadmin with a terminal and no debugger. Unknown keys are errors: a typo must
not silently fall back to a default. A file is read to the end and every error found is
reported at once (ConfigErrors), so fixing a config is not one round trip per typo; only a
TOML syntax error stops at the first, because nothing after it can be read.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from .secret import Secret

LOG_LEVELS = ("debug", "info", "warning", "error")
STORE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


T = TypeVar("T")


class ConfigError(Exception):
    """One problem: "FILE: KEY: REASON" (just "KEY: REASON" for a command-line flag)."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}" if file else f"{key}: {reason}")
        self.file, self.key, self.reason = file, key, reason

    @property
    def errors(self) -> list[ConfigError]:
        """Every problem this stands for, one "FILE: KEY: REASON" each."""
        return [self]


class ConfigErrors(ConfigError):
    """Several problems in one file. `file`, `key` and `reason` are the first one's (the
    reason also names the other keys, for a log line); str() lists them all, one a line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first, rest = errors[0], errors[1:]
        more = f"; and {len(rest)} more ({', '.join(e.key for e in rest)})" if rest else ""
        super().__init__(first.file, first.key, first.reason + more)
        self.args = ("\n".join(str(e) for e in errors),)
        self._errors = list(errors)

    @property
    def errors(self) -> list[ConfigError]:
        return list(self._errors)


def raise_all(errors: list[ConfigError]) -> None:
    """Nothing if there are no errors; the one as it is; several as ConfigErrors."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PushStore:
    name: str
    ingest_token: Secret
    kind: Literal["push"] = "push"


@dataclass(frozen=True)
class ShopifyStore:
    name: str
    shop: str
    base_url: str
    access_token: Secret
    webhook_secret: Secret
    api_version: str
    kind: Literal["shopify"] = "shopify"


Store = PushStore | ShopifyStore


@dataclass(frozen=True)
class Config:
    path: str
    state_dir: Path
    socket: Path
    listen: Listen
    log_level: str = "info"
    log_format: str = "text"
    public_url: str = ""  # where providers and Shopify reach the listener; "" = http://listen
    check_interval: float = 300.0  # seconds between credential checks of each integration
    provider_timeout: float = 10.0  # seconds before a provider call counts as failed
    max_body: int = 1 << 20  # bytes a webhook or ingest request may carry
    body_memory: int = 16 << 20  # request body bytes read and parsed at once, all together
    header_timeout: float = 10.0  # a connection must send its request headers within this
    body_timeout: float = 30.0  # and the whole body within this, once the headers are in
    max_connections: int = 1000  # public connections at once (capped below the fd limit)
    retry_base: float = 2.0  # a failed delivery's first retry comes within this (jittered)
    retry_cap: float = 300.0  # and no retry waits longer than this (unless Retry-After)
    log_retention: float = 30 * 86400.0  # event log rows older than this are pruned
    # "" = SQLite at state_dir/patchbay.db; else sqlite:///PATH or postgresql://...
    database_url: Secret = field(default_factory=lambda: Secret(""))
    lease: float = 15.0  # seconds a dead daemon's work stays held before another takes it
    stores: dict[str, Store] = field(default_factory=dict)

    @property
    def database(self) -> str:
        """Where the state is: a SQLite path or a PostgreSQL URL (it may hold a password:
        pass it to Database.open, never print it)."""
        url = self.database_url.reveal()
        if not url:
            return str(self.state_dir / "patchbay.db")
        return url.removeprefix("sqlite://") if url.startswith("sqlite://") else url

    @property
    def shared(self) -> bool:
        """True when the state is a PostgreSQL several daemons may share."""
        return self.database.startswith(DATABASE_SCHEMES)

    def with_overrides(
        self, *, state_dir: str | None = None, socket: str | None = None, listen: str | None = None
    ) -> Config:
        """Command-line flags win over the file."""
        changes: dict[str, Any] = {}
        if state_dir:
            changes["state_dir"] = Path(state_dir).expanduser()
        if socket:
            changes["socket"] = Path(socket).expanduser()
        if listen:
            changes["listen"] = parse_listen(listen, "", "--listen")
        return replace(self, **changes)


def default_state_dir() -> Path:
    if os.environ.get("STATE_DIRECTORY"):  # set by systemd's StateDirectory=
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    if os.geteuid() == 0 and not os.environ.get("XDG_STATE_HOME"):
        return Path("/var/lib/patchbay")  # the unit's StateDirectory: root agrees with it
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "patchbay"


def default_socket() -> Path:
    if os.environ.get("RUNTIME_DIRECTORY"):  # systemd's RuntimeDirectory=
        return Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0]) / "patchbay.sock"
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "patchbay" / "patchbay.sock"
    if os.geteuid() == 0:
        return Path("/run/patchbay/patchbay.sock")
    return Path(f"/tmp/patchbay-{os.geteuid()}/patchbay.sock")  # noqa: S108


def parse_listen(value: str, file: str, key: str) -> Listen:
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\[\]]+):(\d+)", value)
    if not match:
        raise ConfigError(file, key, f"expected HOST:PORT or [IPV6]:PORT, got {value!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 <= port <= 65535:
        raise ConfigError(file, key, f"port {port} is out of range 0-65535")
    return Listen(host, port)


def parse_duration(value: str, file: str, key: str) -> float:
    """'15m', '30s', '1h', '2h30m' -> seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", value.strip())
    if not parts or "".join(n + u for n, u in parts) != value.strip().replace(" ", ""):
        raise ConfigError(file, key, f"expected a duration like 30s, 15m or 1h, got {value!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * scale[u] for n, u in parts)


class _Table:
    """Reads one TOML table, remembering which keys were consumed.

    A bad value is recorded in the shared `errors` list and a stand-in returned (the
    default, an empty secret), so reading goes on and every error is found; parse()
    raises them all at the end, so no stand-in is ever used.
    """

    def __init__(
        self, file: str, prefix: str, data: dict[str, Any], errors: list[ConfigError]
    ) -> None:
        self.file, self.prefix, self.data, self.errors = file, prefix, data, errors
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, reason: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), reason)

    def report(self, name: str, reason: str) -> None:
        self.errors.append(self.error(name, reason))

    def checked(self, read: Callable[[], T], stand_in: T) -> T:
        """read(), or record the ConfigError it raises and return the stand-in."""
        try:
            return read()
        except ConfigError as exc:
            self.errors.append(exc)
            return stand_in

    def _get(self, name: str, kind: type, kind_name: str) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(name, f"expected {kind_name}, got {type(value).__name__}")
        return value

    def _text(self, name: str, default: str | None, required: bool) -> str:
        value = self._get(name, str, "a string")
        if value is None:
            if required:
                raise self.error(name, "required")
            return default or ""
        return str(value)

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        return self.checked(lambda: self._text(name, default, required), default or "")

    def _choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self._text(name, default, False)
        if value not in options:
            raise self.error(name, f"must be one of {', '.join(options)}; got {value!r}")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str | None:
        """The value, or None (and an error recorded) if it is not one of `options`."""
        return self.checked(lambda: self._choice(name, options, default), None)

    def _integer(self, name: str, default: int, low: int) -> int:
        value = self._get(name, int, "a whole number")
        if value is None:
            return default
        if value < low:
            raise self.error(name, f"must be at least {low}, got {value}")
        return int(value)

    def integer(self, name: str, default: int, *, low: int) -> int:
        return self.checked(lambda: self._integer(name, default, low), default)

    def _duration(self, name: str, default: str) -> float:
        return parse_duration(self._text(name, default, False), self.file, self.key(name))

    def duration(self, name: str, default: str) -> float:
        return self.checked(lambda: self._duration(name, default), 0.0)

    def _size(self, name: str, default: str) -> int:
        """'1MiB', '512KiB', '2000000' -> bytes."""
        text = self._text(name, default, False).strip()
        match = re.fullmatch(r"(\d+)\s*(B|KiB|MiB|KB|MB)?", text)
        if not match or int(match.group(1)) < 1:
            raise self.error(name, f"expected a size like 1MiB or 512KiB, got {text!r}")
        scale = {None: 1, "B": 1, "KiB": 1024, "MiB": 1 << 20, "KB": 1000, "MB": 10**6}
        return int(match.group(1)) * scale[match.group(2)]

    def size(self, name: str, default: str) -> int:
        return self.checked(lambda: self._size(name, default), 1)

    def listen(self, name: str, default: str) -> Listen:
        return self.checked(
            lambda: parse_listen(self._text(name, default, False), self.file, self.key(name)),
            Listen("", 0),
        )

    def table(self, name: str) -> _Table:
        value = self.checked(lambda: self._get(name, dict, "a table"), None)
        return _Table(self.file, self.key(name) + ".", value or {}, self.errors)

    def _secret(self, name: str) -> Secret:
        forms = [f for f in ("", "_file", "_env", "_credential") if name + f in self.data]
        for form in ("", "_file", "_env", "_credential"):
            self.seen.add(name + form)
        if not forms:
            raise self.error(name, f"required (give {name}, {name}_file or {name}_env)")
        if len(forms) > 1:
            raise self.error(name, "give only one of " + ", ".join(name + f for f in forms))
        form = forms[0]
        source = self.data[name + form]
        if not isinstance(source, str) or not source:
            raise self.error(name + form, "expected a non-empty string")
        if form == "":
            return Secret(source)
        if form == "_env":
            if not os.environ.get(source):
                raise self.error(name + form, f"environment variable {source} is not set")
            return Secret(os.environ[source])
        if form == "_credential":
            creds = os.environ.get("CREDENTIALS_DIRECTORY")
            if not creds:
                raise self.error(
                    name + form, "CREDENTIALS_DIRECTORY is not set (not under systemd?)"
                )
            source = str(Path(creds) / source)
        try:
            value = Path(source).expanduser().read_text().strip()
        except OSError as exc:
            raise self.error(name + form, f"cannot read {source}: {exc.strerror}") from None
        if not value:
            raise self.error(name + form, f"{source} is empty")
        return Secret(value)

    def secret(self, name: str) -> Secret:
        """A secret given inline, as `NAME_file`, `NAME_env` or `NAME_credential`."""
        return self.checked(lambda: self._secret(name), Secret(""))

    def skip_rest(self) -> None:
        """Treat every key as read: after an error that makes the others meaningless."""
        self.seen.update(self.data)

    def done(self) -> None:
        for name in sorted(set(self.data) - self.seen):
            self.report(name, "unknown key")


def _store(name: str, table: _Table) -> Store | None:
    """The store, or None if an error was recorded that leaves no store to build."""
    if not STORE_NAME.match(name):
        table.report("", "store names are letters, digits, '-' and '_'")
    kind = table.choice("kind", ("push", "shopify"), "")
    store: Store | None
    if kind == "push":
        store = PushStore(name=name, ingest_token=table.secret("ingest_token"))
    elif kind == "shopify":
        shop = table.text("shop", name)
        store = ShopifyStore(
            name=name,
            shop=shop,
            base_url=table.text("base_url", f"https://{shop}.myshopify.com").rstrip("/"),
            access_token=table.secret("access_token"),
            webhook_secret=table.secret("webhook_secret"),
            api_version=table.text("api_version", "2026-10"),
        )
    else:  # which keys belong depends on the kind: no "unknown key" noise about them
        table.skip_rest()
        store = None
    table.done()
    return store


def _url(table: _Table, name: str) -> str:
    value = table.text(name, "").rstrip("/")
    if value and not re.match(r"https?://[^\s/]+$|https?://[^\s/]+/\S*$", value):
        table.report(name, f"expected an http(s) URL, got {value!r}")
    return value


DATABASE_SCHEMES = ("postgresql://", "postgres://")


def _database(root: _Table) -> tuple[Secret, float]:
    """[database]: url (or url_file / url_env / url_credential, since a PostgreSQL URL may
    carry a password) and the lease time."""
    table = root.table("database")
    url = table.secret("url") if any(k.startswith("url") for k in table.data) else Secret("")
    value = url.reveal()
    if value and not value.startswith(("sqlite:///", *DATABASE_SCHEMES)):
        table.report("url", "expected sqlite:///PATH or postgresql://USER@HOST/DB")
    lease = table.duration("lease", "15s")
    if lease < 3:
        table.report("lease", "must be at least 3s (renewed every third of it)")
    table.done()
    return url, lease


def parse(text: str, file: str = "<config>") -> Config:
    """The config in `text`; else ConfigError (one problem) or ConfigErrors (several)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(file, f"line {line.group(1)}" if line else "syntax", str(exc)) from None
    errors: list[ConfigError] = []
    root = _Table(file, "", data, errors)
    daemon = root.table("daemon")
    state_dir = daemon.text("state_dir")
    socket = daemon.text("socket")
    config = Config(
        path=file,
        state_dir=Path(state_dir).expanduser() if state_dir else default_state_dir(),
        socket=Path(socket).expanduser() if socket else default_socket(),
        listen=daemon.listen("listen", "127.0.0.1:8780"),
        log_level=daemon.choice("log_level", LOG_LEVELS, "info") or "info",
        log_format=daemon.choice("log_format", ("text", "json"), "text") or "text",
        public_url=_url(daemon, "public_url"),
        check_interval=daemon.duration("integration_check_interval", "5m"),
        provider_timeout=daemon.duration("provider_timeout", "10s"),
        max_body=daemon.size("max_body", "1MiB"),
        body_memory=daemon.size("body_memory", "16MiB"),
        header_timeout=daemon.duration("header_timeout", "10s"),
        body_timeout=daemon.duration("body_timeout", "30s"),
        max_connections=daemon.integer("max_connections", 1000, low=10),
        retry_base=daemon.duration("delivery_retry_base", "2s"),
        retry_cap=daemon.duration("delivery_retry_cap", "5m"),
        log_retention=daemon.duration("log_retention", "30d"),
    )
    daemon.done()
    database_url, lease = _database(root)
    config = replace(config, database_url=database_url, lease=lease)
    stores_table = root.table("stores")
    stores: dict[str, Store] = {}
    for name, value in stores_table.data.items():
        table = stores_table.table(name)  # records the error if it is not a table
        store = _store(name, table) if isinstance(value, dict) else None
        if store is not None:
            stores[name] = store
    root.done()
    raise_all(errors)
    return replace(config, stores=stores)


def load(path: str | Path) -> Config:
    file = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(file, "file", exc.strerror or str(exc)) from None
    return parse(text, file)
