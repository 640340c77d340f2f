"""Bind the control socket and the public TCP port before serving.

Binding ourselves (rather than letting uvicorn do it) gives the socket its 0660 mode from
the first instant, cleans up a socket left by a killed daemon, and tells us the real
port when the config asks for port 0.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from .config import Listen


class ListenError(Exception):
    pass


@dataclass
class UnixListener:
    sock: socket.socket
    path: Path
    inode: int

    def close(self) -> None:
        """Remove our socket file, but only if it is still ours (not a successor's)."""
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                self.path.unlink()
        self.sock.close()


def bind_unix(path: Path) -> UnixListener:
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        # Explicitly: mkdir's mode is masked by the umask (systemd's UMask=0077 made it
        # 0700), which locked out the group the CLI is meant to work for.
        os.chmod(path.parent, 0o750)  # noqa: S103 (group-only, on purpose)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ListenError(f"{path} exists and is not a socket; refusing to replace it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # stale: left behind by a daemon that was killed
        else:
            raise ListenError(f"another daemon is answering on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot bind {path}: {exc.strerror}") from None
    finally:
        os.umask(old)
    os.chmod(path, 0o660)
    sock.listen(128)
    sock.setblocking(False)
    return UnixListener(sock, path, os.stat(path).st_ino)


def bind_tcp(listen: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when
    # the socket says it is TCP; without it every small answer waited ~40 ms (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ListenError(f"cannot listen on {listen}: {reason}") from None
    except socket.gaierror as exc:
        sock.close()
        raise ListenError(f"cannot listen on {listen}: {exc.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])
