"""Where the daemon's control socket is by default.

The same rules as the daemon's own default (patchbayd.config.default_socket), kept here
so the console never imports the daemon; tests/console/test_paths.py holds the two equal.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_socket() -> Path:
    if os.environ.get("RUNTIME_DIRECTORY"):  # systemd's RuntimeDirectory=
        return Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0]) / "patchbay.sock"
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "patchbay" / "patchbay.sock"
    if os.geteuid() == 0:
        return Path("/run/patchbay/patchbay.sock")
    return Path(f"/tmp/patchbay-{os.geteuid()}/patchbay.sock")  # noqa: S108
