"""Public connections that cannot outstay their welcome or exhaust the process.

uvicorn closes a connection only when it sits idle *between* requests. A client that
connects and never sends, sends its headers a byte at a time, or never finishes its body
kept a descriptor forever, and about a thousand of them left the daemon unable to
accept anything, its own control socket included. Here each public connection must
send its headers within `header_timeout` and its body within `body_timeout`, and at most
`max_connections` are open at once: one more is answered 503 and closed on the spot,
which costs next to nothing. The cap is kept below the descriptor limit so the control
socket, the database and provider calls always have descriptors left.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable
from dataclasses import dataclass, field

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

RESERVED_DESCRIPTORS = 128  # control socket, database, provider and store connections
_BODY = b'{"error": {"code": "unavailable", "message": "too many connections; retry soon"}}'
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
)


def descriptor_room() -> int:
    """Raise the soft descriptor limit to the hard one (a daemon may use what it is
    allowed) and return how many public connections fit beside everything else."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # not allowed here: the cap follows the soft limit
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(8, soft - RESERVED_DESCRIPTORS)


@dataclass
class ConnectionGuard:
    """The limits, and what they did (status and metrics read the counts)."""

    max_connections: int
    header_timeout: float
    body_timeout: float
    open: int = 0
    refused: int = 0
    timed_out: int = 0
    on_event: Callable[[str, dict[str, int | float]], None] = field(
        default=lambda kind, counts: None
    )  # told "refused" or "timed_out" (to log, sampled)

    def public(self) -> dict[str, int | float]:
        return {
            "open": self.open,
            "max": self.max_connections,
            "refused": self.refused,
            "timed_out": self.timed_out,
        }

    def protocol(self) -> type[HttpToolsProtocol]:
        """uvicorn's httptools protocol with these limits applied to every connection."""
        guard = self

        class Guarded(HttpToolsProtocol):
            _deadline: asyncio.TimerHandle | None = None
            _counted = False

            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                if guard.open >= guard.max_connections:
                    guard.refused += 1
                    guard.on_event("refused", guard.public())
                    transport.write(REFUSAL)
                    transport.close()
                    return
                guard.open += 1
                self._counted = True
                self._arm(guard.header_timeout)

            def _arm(self, seconds: float) -> None:
                self._disarm()
                self._deadline = self.loop.call_later(seconds, self._expired)

            def _disarm(self) -> None:
                if self._deadline is not None:
                    self._deadline.cancel()
                    self._deadline = None

            def _expired(self) -> None:
                self._deadline = None
                if not self.transport.is_closing():
                    guard.timed_out += 1
                    guard.on_event("timed_out", guard.public())
                    self.transport.close()

            def on_headers_complete(self) -> None:
                super().on_headers_complete()
                self._arm(guard.body_timeout)

            def on_message_complete(self) -> None:
                super().on_message_complete()
                self._disarm()  # the request is in; answering it is ours to bound

            def on_response_complete(self) -> None:
                super().on_response_complete()
                if not self.transport.is_closing():  # the next request's headers, in time
                    self._arm(guard.header_timeout)

            def connection_lost(self, exc: Exception | None) -> None:
                self._disarm()
                if self._counted:
                    guard.open -= 1
                    self._counted = False
                super().connection_lost(exc)

        return Guarded
