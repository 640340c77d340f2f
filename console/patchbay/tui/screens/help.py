"""? anywhere: every key of the screen underneath and of the app, in one list."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

SHOWN = {
    "question_mark": "?",
    "escape": "esc",
    "space": "space",
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
}


def shown_key(key: str) -> str:
    """A binding's key(s) as typed: "right,down" -> "→/↓", "ctrl+s" -> "ctrl+s"."""
    return "/".join(SHOWN.get(part, part) for part in key.split(","))


def _keys(
    bindings: list[BindingType], skip: frozenset[str] | set[str] = frozenset()
) -> list[tuple[str, str]]:
    """(key as typed, what it does) for our own bindings; keys in `skip` are taken by the
    screen underneath, and Textual's built-in ones (focus, copy) are left out."""
    found = []
    for binding in bindings:
        if (
            isinstance(binding, Binding)
            and binding.description
            and binding.key not in skip
            and binding.key not in ("tab", "shift+tab", "ctrl+c,super+c")
        ):
            found.append((shown_key(binding.key), binding.description))
    return found


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 60; max-width: 100%; height: auto;
                                  max-height: 100%; border: thick $primary; padding: 0 2;
                                  background: $surface; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, under: Screen[object], app_bindings: list[BindingType]) -> None:
        super().__init__()
        self.under, self.app_bindings = under, app_bindings

    def compose(self) -> ComposeResult:
        text = Text()
        here = _keys(list(self.under.BINDINGS))
        taken = {b.key for b in self.under.BINDINGS if isinstance(b, Binding)}
        anywhere = _keys(self.app_bindings, taken)
        if self.app.ENABLE_COMMAND_PALETTE:
            anywhere.append(("ctrl+p", "Command palette"))
        for title, keys in (("this screen", here), ("anywhere", anywhere)):
            if keys:
                text.append(f"{title}\n", style="bold")
                for key, description in keys:
                    text.append(f"  {key:<10} ", style="bold cyan")
                    text.append(f"{description}\n")
        text.append("esc, ? or q closes this", style="dim")
        with VerticalScroll():
            yield Static(text)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "keys"
