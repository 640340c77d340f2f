"""TOML config -> frozen dataclasses.

Every error names the file, the key (or line) and the reason, because the person reading
it is a sysadmin with a terminal and no debugger. Unknown keys are errors: a typo must
not silently fall back to a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .secret import Secret

LOG_LEVELS = ("debug", "info", "warning", "error")
STORE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class ConfigError(Exception):
    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key, self.reason = file, key, reason


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
    stores: dict[str, Store] = field(default_factory=dict)

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
            changes["listen"] = parse_listen(listen, "--listen", "--listen")
        return replace(self, **changes)


def default_state_dir() -> Path:
    if os.environ.get("STATE_DIRECTORY"):  # set by systemd's StateDirectory=
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
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
    """Reads one TOML table, remembering which keys were consumed."""

    def __init__(self, file: str, prefix: str, data: dict[str, Any]) -> None:
        self.file, self.prefix, self.data = file, prefix, data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, reason: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), reason)

    def _get(self, name: str, kind: type, kind_name: str) -> Any:
        self.seen.add(name)
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(name, f"expected {kind_name}, got {type(value).__name__}")
        return value

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self._get(name, str, "a string")
        if value is None:
            if required:
                raise self.error(name, "required")
            return default or ""
        return str(value)

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(name, default)
        if value not in options:
            raise self.error(name, f"must be one of {', '.join(options)}; got {value!r}")
        return value

    def integer(self, name: str, default: int, *, low: int) -> int:
        value = self._get(name, int, "a whole number")
        if value is None:
            return default
        if value < low:
            raise self.error(name, f"must be at least {low}, got {value}")
        return int(value)

    def duration(self, name: str, default: str) -> float:
        return parse_duration(self.text(name, default), self.file, self.key(name))

    def size(self, name: str, default: str) -> int:
        """'1MiB', '512KiB', '2000000' -> bytes."""
        text = self.text(name, default).strip()
        match = re.fullmatch(r"(\d+)\s*(B|KiB|MiB|KB|MB)?", text)
        if not match or int(match.group(1)) < 1:
            raise self.error(name, f"expected a size like 1MiB or 512KiB, got {text!r}")
        scale = {None: 1, "B": 1, "KiB": 1024, "MiB": 1 << 20, "KB": 1000, "MB": 10**6}
        return int(match.group(1)) * scale[match.group(2)]

    def table(self, name: str) -> _Table:
        value = self._get(name, dict, "a table")
        return _Table(self.file, self.key(name) + ".", value or {})

    def secret(self, name: str) -> Secret:
        """A secret given inline, as `NAME_file`, `NAME_env` or `NAME_credential`."""
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

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(unknown[0], "unknown key")


def _store(file: str, name: str, table: _Table) -> Store:
    if not STORE_NAME.match(name):
        raise table.error("", "store names are letters, digits, '-' and '_'")
    kind = table.choice("kind", ("push", "shopify"), "")
    store: Store
    if kind == "push":
        store = PushStore(name=name, ingest_token=table.secret("ingest_token"))
    else:
        shop = table.text("shop", name)
        store = ShopifyStore(
            name=name,
            shop=shop,
            base_url=table.text("base_url", f"https://{shop}.myshopify.com").rstrip("/"),
            access_token=table.secret("access_token"),
            webhook_secret=table.secret("webhook_secret"),
            api_version=table.text("api_version", "2026-10"),
        )
    table.done()
    return store


def _url(table: _Table, name: str) -> str:
    value = table.text(name, "").rstrip("/")
    if value and not re.match(r"https?://[^\s/]+$|https?://[^\s/]+/\S*$", value):
        raise table.error(name, f"expected an http(s) URL, got {value!r}")
    return value


def parse(text: str, file: str = "<config>") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(file, f"line {line.group(1)}" if line else "syntax", str(exc)) from None
    root = _Table(file, "", data)
    daemon = root.table("daemon")
    state_dir = daemon.text("state_dir")
    socket = daemon.text("socket")
    config = Config(
        path=file,
        state_dir=Path(state_dir).expanduser() if state_dir else default_state_dir(),
        socket=Path(socket).expanduser() if socket else default_socket(),
        listen=parse_listen(daemon.text("listen", "127.0.0.1:8780"), file, "daemon.listen"),
        log_level=daemon.choice("log_level", LOG_LEVELS, "info"),
        log_format=daemon.choice("log_format", ("text", "json"), "text"),
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
        stores={
            name: _store(file, name, stores_table.table(name))
            for stores_table in [root.table("stores")]
            for name in stores_table.data
        },
    )
    daemon.done()
    root.done()
    return config


def load(path: str | Path) -> Config:
    file = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(file, "file", exc.strerror or str(exc)) from None
    return parse(text, file)
