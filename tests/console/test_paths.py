"""The console's default socket (patchbay.paths) follows the daemon's rules exactly: the
CLI finds a daemon started without --socket in the same environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from patchbay import client, paths
from patchbayd import config

ENVIRONMENTS = [
    {},
    {"XDG_RUNTIME_DIR": "/run/user/1000"},
    {"RUNTIME_DIRECTORY": "/run/patchbay"},
    {"RUNTIME_DIRECTORY": "/run/patchbay:/run/other", "XDG_RUNTIME_DIR": "/run/user/1000"},
    {"RUNTIME_DIRECTORY": "", "XDG_RUNTIME_DIR": ""},
]


@pytest.mark.parametrize("euid", [0, 1000])
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_console_default_socket_is_the_daemons(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], euid: int
) -> None:
    for name in ("RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR", "PATCHBAY_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    assert paths.default_socket() == config.default_socket()
    assert client.socket_path() == config.default_socket()


def test_the_environment_and_the_flag_still_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHBAY_SOCKET", "/srv/pb.sock")
    assert client.socket_path() == Path("/srv/pb.sock")
    assert client.socket_path("/tmp/other.sock") == Path("/tmp/other.sock")


def test_an_ssh_session_finds_the_system_daemon(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With XDG_RUNTIME_DIR set (any SSH login) the session's default is /run/user/N/…,
    where the system daemon never listens: the CLI looks in the system place next."""
    import socket

    system = Path(tempfile.mkdtemp(prefix="pb", dir="/tmp")) / "patchbay.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(system))
    monkeypatch.delenv("PATCHBAY_SOCKET", raising=False)
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "user"))
    monkeypatch.setattr(paths, "SYSTEM_SOCKET", system)
    try:
        assert client.socket_path() == system
        own = tmp_path / "user" / "patchbay" / "patchbay.sock"
        own.parent.mkdir(parents=True)
        mine = socket.socket(socket.AF_UNIX)
        mine.bind(str(own))
        assert client.socket_path() == own  # the session's own daemon comes first
        mine.close()
    finally:
        listener.close()


def test_with_no_daemon_anywhere_the_error_names_the_sessions_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PATCHBAY_SOCKET", raising=False)
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(paths, "SYSTEM_SOCKET", tmp_path / "nothing.sock")
    assert client.socket_path() == tmp_path / "patchbay" / "patchbay.sock"


def test_root_keeps_its_state_where_the_unit_does(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STATE_DIRECTORY", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert config.default_state_dir() == Path("/var/lib/patchbay")
    assert config.default_socket().parent == Path("/run/patchbay")
