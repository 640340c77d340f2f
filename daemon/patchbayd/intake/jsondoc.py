"""A request body as JSON that every later stage can hold: parsed, then checked whole.

Python's json module accepts things that break us later: `NaN` and `Infinity` (which no
provider's JSON encoder will send, so every sync of the store failed), integers of
thousands of digits (a ValueError, not a decode error), nesting deep enough to raise
RecursionError, and lone surrogates (`"\\ud800"`), which SQLite cannot encode. Each is
refused here, at acceptance, with the path of the offending field, so nothing that
cannot be processed is ever committed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_INT_DIGITS = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class Malformed(ValueError):
    """The payload cannot be accepted; the message says where and why."""


class _Refused:
    """A number json would accept but we will not: kept as a marker so the walk can name
    the field it sits in (the parser itself knows no paths)."""

    def __init__(self, text: str, why: str) -> None:
        self.text, self.why = text, why


def _int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Refused(text, f"integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(text, f"{text[:20]} is out of range")


def _constant(name: str) -> _Refused:
    return _Refused(name, f"{name} is not a number JSON allows")


def loads(raw: bytes | str) -> Any:
    """The document in `raw`; Malformed (naming the field where it can) if any part of it
    could not be stored, sent or logged as it is."""
    try:
        document = json.loads(raw, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise Malformed(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Malformed("the body is not valid JSON") from None
    except ValueError as exc:  # e.g. an integer over the interpreter's digit limit
        raise Malformed(f"the body is not valid JSON: {str(exc)[:80]}") from None
    check(document)
    return document


def check(value: Any, path: str = "", depth: int = 0) -> None:
    """Raise Malformed for the first part of `value` that is not plain, storable JSON."""
    where = (path or "body")[:120]  # a hostile key can be long; the message stays short
    if depth > MAX_DEPTH:
        raise Malformed(f"{where}: nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise Malformed(f"{where}: contains a lone surrogate (not valid Unicode)")
    elif isinstance(value, _Refused):
        raise Malformed(f"{where}: {value.why}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                raise Malformed(f"{where}: a key contains a lone surrogate (not valid Unicode)")
            check(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check(item, f"{path}[{index}]", depth + 1)
