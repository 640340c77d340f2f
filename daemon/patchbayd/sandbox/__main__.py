"""`python -m patchbayd.sandbox [--host H] [--port P]`: serve the sandbox until SIGTERM/SIGINT.

The first stdout line names the address, so a parent that asked for port 0 can read it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from ..listeners import ListenError
from .server import serve


def _stop(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the signal that stopped it once it has shut down; ending here
    # (instead of with the default action) makes a requested stop exit 0.
    raise SystemExit(0)


def _ready(url: str) -> None:
    print(f"sandbox listening on {url}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m patchbayd.sandbox", description="Simulated store and providers on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        serve(args.host, args.port, ready=_ready)
    except ListenError as exc:
        sys.exit(f"sandbox: {exc}")


main()
