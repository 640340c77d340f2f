"""Address checks the simulated providers share.

Providers differ in how strict they are; one plain rule (something@domain.tld, no spaces)
is enough for the sandbox to reject the garbage a store really holds.
"""

from __future__ import annotations

import re
from typing import TypeGuard

_ADDRESS = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}")

ROLE_NAMES = frozenset(
    {
        "admin",
        "administrator",
        "billing",
        "contact",
        "help",
        "hello",
        "info",
        "marketing",
        "noreply",
        "no-reply",
        "office",
        "postmaster",
        "sales",
        "support",
        "webmaster",
    }
)


def is_valid(email: object) -> TypeGuard[str]:
    return isinstance(email, str) and _ADDRESS.fullmatch(email) is not None


def is_role(email: str) -> bool:
    return email.split("@", 1)[0].lower() in ROLE_NAMES
