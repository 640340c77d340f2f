"""Structured logging: one line per event on stderr, and every event onto the bus.

Callers write `log.info("sync started", sync=3)`; fields are explicit key=values, so a
secret only reaches a log if someone passes it by name (and `Secret` masks itself).

Values often come from outside (a store name in a URL path, a provider's error text), so
every one is cut to a bounded length and has its control characters escaped before it
reaches stderr, the bus or the event log: a hostile value can neither rewrite what an
administrator's terminal shows nor make one line cost kilobytes.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any, TextIO

from .bus import Bus
from .clock import Clock, SystemClock, isoformat

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
MAX_VALUE = 240  # characters of one logged value
# C0/C1 controls, DEL, line/paragraph separators, bidi overrides, lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    """`text` safe to show: bounded, control characters escaped (\\x1b, not ESC)."""
    if len(text) > MAX_VALUE:
        text = f"{text[:MAX_VALUE]}…(+{len(text) - MAX_VALUE} chars)"
    return _UNSAFE.sub(_escape, text)


class Sampler:
    """At most `per_window` lines per key and window; the rest are counted, and the count
    rides on the next line that is let through. Keys must be a bounded set (a route and
    a reason, a logger and its format string), never raw input."""

    def __init__(self, clock: Clock, per_window: int = 5, window: float = 10.0) -> None:
        self.clock, self.per_window, self.window = clock, per_window, window
        self._seen: dict[object, tuple[float, int, int]] = {}  # start, logged, suppressed

    def allow(self, key: object) -> tuple[bool, int]:
        """(log this one?, how many were suppressed since the last one logged)."""
        now = self.clock.monotonic()
        start, logged, suppressed = self._seen.get(key, (now, 0, 0))
        if now - start >= self.window:
            start, logged = now, 0
        if logged < self.per_window:
            self._seen[key] = (start, logged + 1, 0)
            return True, suppressed
        self._seen[key] = (start, logged, suppressed + 1)
        return False, 0


def _text_value(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\n'):
        return json.dumps(text)
    return text


class LogSink:
    """Where every logger writes: the stderr stream and the bus."""

    def __init__(
        self,
        *,
        level: str = "info",
        fmt: str = "text",
        stream: TextIO | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.level = level
        self.fmt = fmt
        self.stream = stream or sys.stderr
        self.clock = clock or SystemClock()
        self.bus: Bus | None = None
        self.counts: dict[str, int] = dict.fromkeys(LEVELS, 0)

    def emit(
        self, level: str, component: str, message: str, fields: dict[str, Any], kind: str = "log"
    ) -> None:
        if LEVELS[level] < LEVELS[self.level]:
            return
        ts = isoformat(self.clock.now())
        self.counts[level] += 1
        message = clean(message)
        fields = {clean(str(k)): _safe(v) for k, v in fields.items()}
        if self.fmt == "json":
            line = json.dumps(
                {"ts": ts, "level": level, "component": component, "message": message, **fields},
                default=str,
            )
        else:
            extra = "".join(f" {k}={_text_value(v)}" for k, v in fields.items())
            line = f"{ts} {level.upper():7} {component}: {message}{extra}"
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # stderr gone (journald restarted); the event still reaches the bus
        if self.bus is not None:
            self.bus.publish(
                ts=ts, kind=kind, level=level, component=component, message=message, fields=fields
            )


def _safe(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value if not isinstance(value, int) or abs(value) < 10**18 else clean(str(value))
    return clean(str(value))


class Logger:
    def __init__(self, sink: LogSink, component: str) -> None:
        self.sink, self.component = sink, component

    def debug(self, message: str, **fields: Any) -> None:
        self.sink.emit("debug", self.component, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self.sink.emit("info", self.component, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.sink.emit("warning", self.component, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self.sink.emit("error", self.component, message, fields)


class _StdlibBridge(logging.Handler):
    """Brings library logs (uvicorn, asyncio) into the same stream and bus, sampled: a
    flood of one message (accept errors when descriptors run out, a client sending
    garbage) costs a few lines per window, not thousands a second. Only the exception's
    kind and a bounded message are kept: a repr can carry a whole request body."""

    def __init__(self, sink: LogSink) -> None:
        super().__init__()
        self.sink = sink
        self.sampler = Sampler(sink.clock)

    def emit(self, record: logging.LogRecord) -> None:
        level = (
            "error"
            if record.levelno >= 40
            else "warning"
            if record.levelno >= 30
            else ("info" if record.levelno >= 20 else "debug")
        )
        allowed, suppressed = self.sampler.allow((record.name, str(record.msg)))
        if not allowed:
            return
        fields: dict[str, Any] = {}
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            fields["error"] = f"{type(error).__name__}: {str(error)[:200]}"
        if suppressed:
            fields["suppressed"] = suppressed
        self.sink.emit(level, record.name, record.getMessage(), fields)


def bridge_stdlib(sink: LogSink) -> None:
    root = logging.getLogger()
    root.handlers = [_StdlibBridge(sink)]
    root.setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
