"""A wrapper that keeps secrets out of reprs, f-strings, logs and exception text.

A `Secret` must be unwrapped explicitly with `reveal()` at the one place that sends it
on the wire; anything that formats it by accident prints a mask.
"""

from __future__ import annotations

import hashlib


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def fingerprint(self) -> str:
        """Enough to tell two keys apart in a UI, not enough to recover either."""
        return "sha256:" + hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)
