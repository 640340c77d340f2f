"""Test helpers: a real patchbayd subprocess with a fake NOTIFY_SOCKET, and the real CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
PATCHBAYD = str(BIN / "patchbayd")
PATCHBAY = str(BIN / "patchbay")

BASE_CONFIG = """
[daemon]
listen = "127.0.0.1:0"
log_level = "debug"

[stores.demo]
kind = "push"
ingest_token = "demo-token"
"""


def wait(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until `predicate()` holds; the one way tests wait for the daemon to catch up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def short_tmpdir() -> Path:
    """Unix socket paths must stay under ~100 bytes; pytest's tmp_path can be longer."""
    return Path(tempfile.mkdtemp(prefix="pb", dir="/tmp"))


class Notify:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[str] = []

    def wait_for(self, needle: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        for message in self.messages:
            if needle in message:
                return message
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            self.messages.append(message)
            if needle in message:
                return message
        raise AssertionError(f"no {needle!r} from the daemon; got {self.messages}")

    def close(self) -> None:
        self.sock.close()


@dataclass
class Daemon:
    directory: Path
    config_text: str = BASE_CONFIG
    extra_env: dict[str, str] = field(default_factory=dict)
    wrapper: tuple[str, ...] = ()  # e.g. ("prlimit", "--nofile=256") before patchbayd
    database_url: str | None = None  # a PostgreSQL URL; None: SQLite in the state dir
    lease: str = "5s"  # [database] lease, with database_url
    proc: subprocess.Popen[bytes] | None = None
    notify: Notify | None = None
    _port: int | None = None

    @property
    def socket(self) -> Path:
        return self.directory / "ctl.sock"

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    @property
    def config_path(self) -> Path:
        return self.directory / "config.toml"

    @property
    def stderr_path(self) -> Path:
        return self.directory / "stderr.log"

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        env["PATCHBAY_SOCKET"] = str(self.socket)
        env["PYTHONFAULTHANDLER"] = "1"  # a hung stop prints its stacks (see stop)
        env.update(self.extra_env)
        return env

    def start(self, *, wait: bool = True, args: tuple[str, ...] = ()) -> Daemon:
        self._port = None
        text = self.config_text
        if self.database_url:
            # A short lease: a daemon killed in a test is taken over in seconds.
            text += f'\n[database]\nurl = "{self.database_url}"\nlease = "{self.lease}"\n'
        self.config_path.write_text(text)
        if self.notify is None:
            self.notify = Notify(self.directory)
        self.notify.messages.clear()
        env = self.env()
        env["NOTIFY_SOCKET"] = str(self.notify.path)
        self.proc = subprocess.Popen(
            [
                *self.wrapper,
                PATCHBAYD,
                "run",
                "--config",
                str(self.config_path),
                "--state-dir",
                str(self.state_dir),
                "--socket",
                str(self.socket),
                *args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr_path.open("ab"),
        )
        if wait:
            try:
                self.notify.wait_for("READY=1")
            except AssertionError:
                self.proc.kill()
                raise AssertionError("daemon not ready; stderr:\n" + self.stderr()) from None
        return self

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A statement on the daemon's state, whichever backend (SQLite spelling, `?`),
        committed; the rows it returned."""
        if self.database_url:
            import psycopg

            from patchbayd.db.postgres import translate

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cursor = conn.execute(translate(sql), params)  # type: ignore[arg-type]
                return list(cursor.fetchall()) if cursor.description else []
        with sqlite3.connect(self.state_dir / "patchbay.db") as db:
            return list(db.execute(sql, params).fetchall())

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json").stdout)

    def counts(self) -> dict[str, Any]:
        """status counts straight from the control API (no CLI process: for polling)."""
        counts: dict[str, Any] = self.api("/v1/status")["counts"]
        return counts

    def port(self) -> int:
        """The public port (asked once per start: each `status` runs the CLI)."""
        if self._port is None:
            self._port = int(self.status()["listen"].rsplit(":", 1)[1])
        return self._port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port()}{path}"

    def api(self, path: str, method: str = "GET", body: Any = None) -> Any:
        """The control API over the socket, as the CLI and console reach it."""
        transport = httpx.HTTPTransport(uds=str(self.socket))
        with httpx.Client(transport=transport, base_url="http://patchbay", timeout=30) as c:
            response = c.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def cli(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 30,
        env_extra: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PATCHBAY, *args],
            env={**self.env(), **(env_extra or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"patchbay {' '.join(args)} -> {result.returncode}\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def connect(
        self,
        sandbox_url: str,
        provider: str,
        *extra: str,
        store: str = "demo",
        key: str = "sandbox-key",
        base_url: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """`patchbay integrations connect` to the sandbox's `provider`, as a user runs it:
        the key from a file, the answer as JSON."""
        path = self.directory / f"{provider}-{store}.key"
        path.write_text(key)
        return self.cli(
            "integrations",
            "connect",
            provider,
            "--store",
            store,
            "--api-key-file",
            str(path),
            "--base-url",
            base_url or f"{sandbox_url}/{provider}",
            *extra,
            "--json",
            check=check,
        )

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            # SIGABRT makes faulthandler (PYTHONFAULTHANDLER, see env) print where every
            # thread is: a stop that hangs says why in the failure, not only that it hung.
            self.proc.send_signal(signal.SIGABRT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            tail = "\n".join(self.stderr().splitlines()[-60:])
            raise AssertionError(
                f"patchbayd did not stop within {timeout:g} s of SIGTERM; stderr ends:\n{tail}"
            ) from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Sandbox:
    """`python -m patchbayd.sandbox` on a free loopback port, with its control surface."""

    def __init__(self) -> None:
        # stderr to a file and stdout drained: a pipe nobody reads fills up after 64 KiB
        # of server log, and the sandbox then blocks in its write, answering nothing.
        self.log = tempfile.NamedTemporaryFile(prefix="pb-sandbox-", suffix=".log")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "patchbayd.sandbox", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise AssertionError(
                f"sandbox did not start: {line!r} {Path(self.log.name).read_text()[-2000:]}"
            )
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.url = line.strip().rsplit(" ", 1)[-1]

    def state(self, system: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/_sandbox/{system}/state", timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self, system: str, **knobs: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/_sandbox/{system}/faults", json=knobs, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.url}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset", timeout=10).raise_for_status()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def sandbox_config(
    sandbox_url: str, shop: str = "patchbay-demo", extra: str = "", daemon: str = ""
) -> str:
    """BASE_CONFIG plus a Shopify store on the sandbox's shop (and extra [daemon] keys)."""
    base = BASE_CONFIG.replace('log_level = "debug"\n', f'log_level = "debug"\n{daemon}\n')
    return (
        base
        + f"""
[stores.shop]
kind = "shopify"
shop = "{shop}"
base_url = "{sandbox_url}/shopify/{shop}"
access_token = "sandbox-shopify-token"
webhook_secret = "sandbox-webhook-secret"
"""
        + extra
    )


def run_daemon_cmd(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PATCHBAYD, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
