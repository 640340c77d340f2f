"""The fault knobs every simulated system shares, and their strict validation.

Knobs are set over HTTP by tests and demos, so a typo must fail loudly (400) instead of
silently leaving a fault off. A system may add knobs of its own (SALESmanago's API
secrets) without this module knowing what they mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class FaultError(ValueError):
    """A knob that does not exist or a value of the wrong type or range."""


@dataclass(frozen=True)
class Knob:
    """A system-specific knob whose value lives in that system's state."""

    get: Callable[[], object]
    parse: Callable[[object], object]  # raises FaultError on a bad value
    set: Callable[[object], None]  # takes what parse returned


@dataclass
class Faults:
    error_rate: float = 0.0
    error_status: int = 500
    latency_ms: float = 0.0
    job_latency_ms: float = 0.0  # batch/import jobs stay processing this long
    rate_limit_per_min: int | None = None
    capacity: int | None = None
    down: bool = False
    revoked_keys: list[str] = field(default_factory=list)
    malformed: bool = False

    def as_dict(self, extra: Mapping[str, Knob]) -> dict[str, Any]:
        answer: dict[str, Any] = {name: getattr(self, name) for name in _PARSERS}
        answer["revoked_keys"] = list(self.revoked_keys)
        answer.update({name: knob.get() for name, knob in extra.items()})
        return answer

    def update(self, changes: object, extra: Mapping[str, Knob]) -> None:
        """Apply a partial update, all or nothing."""
        if not isinstance(changes, dict):
            raise FaultError("faults must be a JSON object")
        unknown = sorted(set(changes) - set(_PARSERS) - set(extra))
        if unknown:
            raise FaultError(f"unknown fault knob: {', '.join(unknown)}")
        parsed = {
            name: _PARSERS[name](name, value) for name, value in changes.items() if name in _PARSERS
        }
        parsed_extra = {
            name: extra[name].parse(value) for name, value in changes.items() if name in extra
        }
        for name, value in parsed.items():
            setattr(self, name, value)
        for name, value in parsed_extra.items():
            extra[name].set(value)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number")
    return float(value)


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultError(f"{name} must be an integer")
    return value


def _error_rate(name: str, value: object) -> float:
    rate = _number(name, value)
    if not 0.0 <= rate <= 1.0:
        raise FaultError(f"{name} must be between 0 and 1")
    return rate


def _error_status(name: str, value: object) -> int:
    status = _integer(name, value)
    if not 400 <= status <= 599:
        raise FaultError(f"{name} must be an HTTP error status (400..599)")
    return status


def _latency(name: str, value: object) -> float:
    latency = _number(name, value)
    if latency < 0:
        raise FaultError(f"{name} must not be negative")
    return latency


def _optional_count(minimum: int) -> Callable[[str, object], int | None]:
    def parse(name: str, value: object) -> int | None:
        if value is None:
            return None
        count = _integer(name, value)
        if count < minimum:
            raise FaultError(f"{name} must be null or at least {minimum}")
        return count

    return parse


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise FaultError(f"{name} must be true or false")
    return value


def _keys(name: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        raise FaultError(f"{name} must be a list of strings")
    return list(value)


_PARSERS: dict[str, Callable[[str, object], Any]] = {
    "error_rate": _error_rate,
    "error_status": _error_status,
    "latency_ms": _latency,
    "job_latency_ms": _latency,
    "rate_limit_per_min": _optional_count(1),
    "capacity": _optional_count(0),
    "down": _flag,
    "revoked_keys": _keys,
    "malformed": _flag,
}
