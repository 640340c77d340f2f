"""The console's default socket (patchbay.paths) follows the daemon's rules exactly: the
CLI finds a daemon started without --socket in the same environment."""

from __future__ import annotations

import os
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
