"""What the console's forms share (connect, new sync): a result line in place, and one
POST that either closes the form with what was made or shows the daemon's reason in red
and lets the user try again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual import work
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..messages import RequestFailed
from .live import hub

T = TypeVar("T")


class FormScreen(ModalScreen[T | None]):
    DEFAULT_CSS = """
    FormScreen #result { height: auto; }
    FormScreen #result.-error { color: $error; }
    """

    def show_result(self, text: str, *, error: bool) -> None:
        result = self.query_one("#result", Static)
        result.set_class(error, "-error")
        result.update(text)

    def send(self, path: str, body: dict[str, Any], parse: Callable[[Any], T], button: str) -> None:
        """POST `body`; `button` (its id) is disabled until the answer: no second request."""
        self.query_one(f"#{button}", Button).disabled = True
        self._send(path, body, parse, button)

    @work(exclusive=True, group="form")
    async def _send(
        self, path: str, body: dict[str, Any], parse: Callable[[Any], T], button: str
    ) -> None:
        try:
            made = await hub(self).request("POST", path, body=body, parse=parse)
        except RequestFailed as exc:
            self.show_result(exc.message, error=True)
            self.query_one(f"#{button}", Button).disabled = False
            return
        self.dismiss(made)
