"""? anywhere: every key of the screen underneath and of the app, in one list."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
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
    "slash": "/",
    "pageup": "pgup",
    "pagedown": "pgdn",
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


def _own(node: DOMNode) -> list[BindingType]:
    """The keys a widget's class declares when that class is the console's own: the log's
    keys live on its pane and view, not on the screen. Textual's widgets (an Input's
    cursor keys, a scroll view's arrows) are left out, as their screens' built-ins are."""
    for cls in type(node).__mro__:
        if "BINDINGS" in vars(cls):
            own = cls.__module__.startswith("patchbay.")
            return list(vars(cls)["BINDINGS"]) if own else []
    return []


def screen_keys(screen: Screen[object]) -> list[BindingType]:
    """The keys that act on `screen`: those of its focused widget and the widgets around
    it first (they are looked up first), then the screen's own; a key taken nearer the
    focus is not listed again."""
    chain: list[DOMNode] = []
    node: DOMNode | None = screen.focused
    while node is not None and node is not screen:
        chain.append(node)
        node = node.parent
    found: list[BindingType] = []
    taken: set[str] = set()
    for bindings in [*(_own(n) for n in chain), list(screen.BINDINGS)]:
        for binding in bindings:
            if isinstance(binding, Binding) and binding.key not in taken:
                taken.add(binding.key)
                found.append(binding)
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
        bindings = screen_keys(self.under)
        here = _keys(bindings)
        taken = {b.key for b in bindings if isinstance(b, Binding)}
        anywhere = _keys(self.app_bindings, taken)
        if self.app.ENABLE_COMMAND_PALETTE:
            anywhere.append(("ctrl+p", "Command palette"))
        if here:
            text.append("this screen\n", style="bold")
            for key, description in here:
                text.append(f"  {key:<10} ", style="bold cyan")
                text.append(f"{description}\n")
        if anywhere:  # two to a line: the list must fit 24 rows with a screen's own keys
            text.append("anywhere\n", style="bold")
            for start in range(0, len(anywhere), 2):
                for column, (key, description) in enumerate(anywhere[start : start + 2]):
                    text.append(f"  {key:<7}" if column == 0 else f"{key:<7}", style="bold cyan")
                    text.append(f"{description:<18}" if column == 0 else description)
                text.append("\n")
        text.append("esc, ? or q closes this", style="dim")
        with VerticalScroll():
            yield Static(text)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "keys"
