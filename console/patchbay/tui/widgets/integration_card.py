"""One card on the Integrations screen: a live integration or a provider still available."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

STATE_STYLES = {"available": "dim", "connected": "cyan", "syncing": "yellow",
                "active": "green", "paused": "magenta", "error": "bold red"}


class IntegrationCard(Static, can_focus=True):
    DEFAULT_CSS = """
    IntegrationCard { width: 1fr; height: 6; border: round $secondary; padding: 0 1; }
    IntegrationCard.-error { border: round $error; }
    IntegrationCard.-available { border: dashed $panel-lighten-2; }
    IntegrationCard:focus { border: double $accent; }
    """

    def __init__(self, card: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.card = card

    def on_mount(self) -> None:
        self.show(self.card)

    def show(self, card: dict[str, Any]) -> None:
        self.card = card
        state = str(card["state"])
        self.set_class(state == "error", "-error")
        self.set_class(state == "available", "-available")
        if card["card"] == "available":
            self.border_title = str(card.get("title") or card["provider"])
            self.update(Text.assemble(("available", STATE_STYLES["available"]),
                                      "\n\nc: connect"))
            return
        self.border_title = f"#{card['id']} {card['provider']}"
        text = Text()
        text.append(state, STATE_STYLES.get(state, ""))
        text.append(f"  store {card['store']}\n")
        text.append(f"{card.get('account') or ''}\n", "dim")
        if card.get("reason"):
            text.append(str(card["reason"]), "red")
        else:
            text.append(f"{card.get('last_activity') or ''} {card.get('last_activity_at') or ''}",
                        "dim")
        self.update(text)

    @property
    def key(self) -> str:
        return f"i{self.card['id']}" if self.card["card"] == "integration" else (
            f"p{self.card['provider']}")
