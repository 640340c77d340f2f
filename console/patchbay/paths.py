"""Where the daemon's control socket is by default.

The same rules as the daemon's own default (patchbayd.config.default_socket), kept here
so the console never imports the daemon; tests/console/test_paths.py holds the two equal.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SYSTEM_SOCKET = Path("/run/patchbay/patchbay.sock")  # the systemd unit's RuntimeDirectory


def default_socket() -> Path:
    if os.environ.get("RUNTIME_DIRECTORY"):  # systemd's RuntimeDirectory=
        return Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0]) / "patchbay.sock"
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "patchbay" / "patchbay.sock"
    if os.geteuid() == 0:
        return Path("/run/patchbay/patchbay.sock")
    return Path(f"/tmp/patchbay-{os.geteuid()}/patchbay.sock")  # noqa: S108


def candidates() -> list[Path]:
    """Where a daemon started without --socket listens: this session's own default
    first, then the system daemon's (an SSH session sets XDG_RUNTIME_DIR, which the
    system daemon does not see)."""
    found = [default_socket()]
    if SYSTEM_SOCKET not in found:
        found.append(SYSTEM_SOCKET)
    return found


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def discover() -> Path:
    """The first candidate with a socket there; the session's own default when none has
    (the error then names it)."""
    options = candidates()
    return next((path for path in options if _is_socket(path)), options[0])
