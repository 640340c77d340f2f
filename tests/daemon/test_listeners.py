"""The control socket's directory and file modes, whatever the daemon's umask."""

from __future__ import annotations

import os
import stat

from patchbayd.listeners import bind_unix
from tests.support import short_tmpdir


def test_a_created_socket_directory_is_0750_under_systemds_umask() -> None:
    """systemd runs the daemon with UMask=0077; mkdir(0o750) alone came out 0700 and
    locked out the group that may use the CLI."""
    base = short_tmpdir()
    path = base / "run" / "patchbay.sock"
    old = os.umask(0o077)
    try:
        listener = bind_unix(path)
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o750
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    finally:
        listener.close()
        path.parent.rmdir()
        base.rmdir()
