"""Event fields as a person reads them, in the CLI's log lines and the console's log pane:
no Python reprs, empty values hidden, text with spaces quoted."""

from __future__ import annotations

from typing import Any

import pytest

from patchbay.render import event_fields, event_line


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"sync": 1, "run": 2}, "sync=1 run=2"),
        ({"cursor": None, "reason": "", "list": [], "extra": {}}, ""),
        ({"filtered": {"invalid_address": 0, "role_address": 1}}, "filtered=role_address:1"),
        ({"filtered": {"invalid_address": 0, "duplicate": 0}}, ""),
        ({"reason": "registered without consent"}, 'reason="registered without consent"'),
        ({"done": False, "full": True}, "done=no full=yes"),
        ({"stores": ["demo", "shop"]}, "stores=demo,shop"),
        ({"rate": 228.8, "sent": 0}, "rate=228.8 sent=0"),
    ],
    ids=[
        "numbers",
        "empties hidden",
        "counts",
        "all-zero counts",
        "quoted",
        "flags",
        "list",
        "a zero is a value",
    ],
)
def test_event_fields(fields: dict[str, Any], shown: str) -> None:
    assert event_fields(fields) == shown


def test_a_line_without_fields_has_no_trailing_space() -> None:
    event = {
        "ts": "t",
        "level": "info",
        "component": "sync",
        "message": "done",
        "fields": {"cursor": None},
    }
    assert event_line(event) == "t INFO    sync: done"
