"""Structured logging: one line per event on stderr, and every event onto the bus.

Callers write `log.info("sync started", sync=3)`; fields are explicit key=values, so a
secret only reaches a log if someone passes it by name (and `Secret` masks itself).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

from .bus import Bus
from .clock import Clock, SystemClock, isoformat

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def _text_value(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\n'):
        return json.dumps(text)
    return text


class LogSink:
    """Where every logger writes: the stderr stream and the bus."""

    def __init__(self, *, level: str = "info", fmt: str = "text", stream: TextIO | None = None,
                 clock: Clock | None = None) -> None:
        self.level = level
        self.fmt = fmt
        self.stream = stream or sys.stderr
        self.clock = clock or SystemClock()
        self.bus: Bus | None = None
        self.counts: dict[str, int] = dict.fromkeys(LEVELS, 0)

    def emit(self, level: str, component: str, message: str, fields: dict[str, Any],
             kind: str = "log") -> None:
        if LEVELS[level] < LEVELS[self.level]:
            return
        ts = isoformat(self.clock.now())
        self.counts[level] += 1
        if self.fmt == "json":
            line = json.dumps({"ts": ts, "level": level, "component": component,
                               "message": message, **fields}, default=str)
        else:
            extra = "".join(f" {k}={_text_value(v)}" for k, v in fields.items())
            line = f"{ts} {level.upper():7} {component}: {message}{extra}"
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # stderr gone (journald restarted); the event still reaches the bus
        if self.bus is not None:
            self.bus.publish(ts=ts, kind=kind, level=level, component=component,
                             message=message, fields={k: _jsonable(v) for k, v in fields.items()})


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


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
    """Brings library logs (uvicorn, asyncio) into the same stream and bus."""

    def __init__(self, sink: LogSink) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= 40 else "warning" if record.levelno >= 30 else (
            "info" if record.levelno >= 20 else "debug")
        fields = {}
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = repr(record.exc_info[1])
        self.sink.emit(level, record.name, record.getMessage(), fields)


def bridge_stdlib(sink: LogSink) -> None:
    root = logging.getLogger()
    root.handlers = [_StdlibBridge(sink)]
    root.setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
