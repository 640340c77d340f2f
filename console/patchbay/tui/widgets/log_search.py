"""The log's search line (`/` opens it): Enter applies what is typed, Escape leaves it
as it was. Leaving gives the keyboard back to the log, so the app's keys work again."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class LogSearch(Input):
    DEFAULT_CSS = """
    LogSearch, LogSearch:focus { border: none; height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("enter", "submit", "Apply"),
        Binding("escape", "leave", "Leave as it was"),
    ]

    class Left(Message):
        """Escape in the search line: nothing applied."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            placeholder="words every line shown must have (any case) · enter: apply · esc: leave",
            **kwargs,
        )

    def action_leave(self) -> None:
        self.post_message(self.Left())
