"""Typed field readers for inbound payloads: each names the offending field in its error,
so a refusal (400) tells the sender exactly what to fix."""

from __future__ import annotations

from typing import Any

from ..clock import normalize_time
from ..model import CONSENT_STATES
from .jsondoc import Malformed

__all__ = ["Malformed", "consent", "obj", "text", "time"]


def text(item: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"{where}{name}: required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Malformed(f"{where}{name}: expected a string")
    return str(value)


def time(item: dict[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = text(item, name, where, required=required)
    if value is None:
        return None
    normal = normalize_time(value)
    if normal is None:
        raise Malformed(f"{where}{name}: expected an ISO-8601 time, got {value[:40]!r}")
    return normal


def obj(item: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = item.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{where}{name}: expected an object")
    return value


def consent(item: dict[str, Any], name: str, where: str) -> tuple[str | None, str | None]:
    consent = obj(item, name, where)
    if not consent:
        return None, None
    state = consent.get("state")
    if state not in CONSENT_STATES:
        raise Malformed(f"{where}{name}.state: must be one of {', '.join(CONSENT_STATES)}")
    return str(state), time(consent, "updated_at", f"{where}{name}.")
