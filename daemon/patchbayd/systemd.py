"""sd_notify over NOTIFY_SOCKET, standard library only (it is a few datagrams)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and mine else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *lines: str) -> None:
        if not self.address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.sendto("\n".join(lines).encode(), self.address)
            except OSError:
                pass  # systemd went away; nothing useful to do about it here

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def reloading(self) -> None:
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def reload_refused(self, status: str, error: Exception) -> None:
        """A reload was refused and the running config kept: READY=1 ends the reload, and
        the refusal stays in STATUS= (what `systemctl status` shows) until the next
        change of state. The unit's ExecReload also runs check-config first, so
        `systemctl reload` itself fails on a bad file; this covers a file changed between
        that check and the signal, and a SIGHUP sent by hand."""
        reason = "; ".join(line for line in str(error).splitlines() if line)
        self.send("READY=1", f"STATUS={status}; reload refused: {reason}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")
