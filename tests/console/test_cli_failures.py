"""No CLI path ever prints a traceback: every command, walked from the click tree, against
a daemon that is gone, one that answers 500 with a non-JSON body, and one that takes the
connection and never answers. Each ends with one clear line and its exit code (3 gone,
1 failed or too slow)."""

from __future__ import annotations

import shutil
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from patchbay.cli import main
from tests.support import short_tmpdir

SKIPPED = {"console", "demo", "sandbox"}  # start programs; tested where they are built


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        elif name not in SKIPPED:
            yield (*path, name)


def argv(path: tuple[str, ...], workdir: Path) -> list[str]:
    """The command with the least that makes it a valid request."""
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    event = workdir / "event.json"
    event.write_text('{"type": "custom.ping", "id": "e1"}')
    key = workdir / "key"
    key.write_text("sandbox-key")
    routes = workdir / "routes.toml"
    routes.write_text("")
    values = {"email": "a@example.com", "provider": "omnisend", "file": str(routes)}
    args = [values.get(str(p.name), "1") for p in command.params if isinstance(p, click.Argument)]
    options = {o for p in command.params if isinstance(p, click.Option) for o in p.opts}
    extra = {
        "--store": "demo",
        "--event": str(event),
        "--segment": "all",
        "--api-key-file": str(key),
        "--yes": None,
    }
    for option, value in extra.items():
        if option in options:
            args += [option] if value is None else [option, value]
    return [*path, *args]


class Answering(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        self.wfile.write(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n"
            b"Connection: close\r\n\r\noops!"
        )


class Silent(socketserver.StreamRequestHandler):
    release = threading.Event()

    def handle(self) -> None:
        self.release.wait(10)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = short_tmpdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def serve(path: Path, handler: type[socketserver.BaseRequestHandler]) -> socketserver.BaseServer:
    server = socketserver.ThreadingUnixStreamServer(str(path), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


CASES = list(commands())


@pytest.fixture(scope="module")
def daemons(workdir: Path) -> Iterator[dict[str, Path]]:
    failing, silent = workdir / "500.sock", workdir / "slow.sock"
    servers = [serve(failing, Answering), serve(silent, Silent)]
    yield {"gone": workdir / "nobody.sock", "500": failing, "slow": silent}
    Silent.release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ["gone", "500", "slow"])
@pytest.mark.parametrize("path", CASES, ids=[" ".join(c) for c in CASES])
def test_every_command_fails_cleanly(
    path: tuple[str, ...], kind: str, daemons: dict[str, Path], workdir: Path
) -> None:
    result = CliRunner().invoke(
        main,
        argv(path, workdir),
        env={"PATCHBAY_SOCKET": str(daemons[kind]), "PATCHBAY_TIMEOUT": "0.3"},
    )
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert "Traceback" not in result.output
    expected = 3 if kind == "gone" else 1
    assert result.exit_code == expected, result.output
    assert result.output.count("\n") <= 3, result.output  # a line or two, not a dump


FOLLOWING = [("orders", "export", "1", "--wait"), ("orders", "status", "1", "--follow")]


@pytest.mark.parametrize("kind", ["gone", "500", "slow"])
@pytest.mark.parametrize("args", FOLLOWING, ids=[" ".join(c) for c in FOLLOWING])
def test_following_options_fail_cleanly_too(
    args: tuple[str, ...], kind: str, daemons: dict[str, Path]
) -> None:
    """The options that follow an export to its end meet the same three daemons."""
    result = CliRunner().invoke(
        main, list(args), env={"PATCHBAY_SOCKET": str(daemons[kind]), "PATCHBAY_TIMEOUT": "0.3"}
    )
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == (3 if kind == "gone" else 1), result.output
    assert result.output.count("\n") <= 3, result.output


def test_the_walk_covers_the_whole_cli() -> None:
    assert len(CASES) >= 30 and ("sync", "run") in CASES and ("logs",) in CASES


def test_a_socket_that_is_not_a_daemon_is_unreachable(workdir: Path) -> None:
    plain = workdir / "plain.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(plain))  # bound, never listening: refused
    result = CliRunner().invoke(main, ["status"], env={"PATCHBAY_SOCKET": str(plain)})
    listener.close()
    assert result.exit_code == 3 and "Traceback" not in result.output
