from __future__ import annotations

import os
import socket
from pathlib import Path

from patchbayd.systemd import Notifier


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert Notifier({"WATCHDOG_USEC": "10000000"}).watchdog_interval == 5.0
    assert Notifier({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    mine = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval == 1.0
    assert Notifier({}).watchdog_interval is None


def test_messages_reach_the_notify_socket(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        notifier.ready("running")
        message = sock.recv(1024).decode()
    assert message.splitlines()[:2] == ["READY=1", "STATUS=running"]


def test_abstract_socket_address_and_absent_socket() -> None:
    assert Notifier({"NOTIFY_SOCKET": "@sd/notify"}).address == "\0sd/notify"
    silent = Notifier({})
    assert not silent.enabled
    silent.ready("x")  # no socket: nothing to do, nothing raised
    Notifier({"NOTIFY_SOCKET": "/nonexistent/sock"}).watchdog()  # systemd gone: ignored
