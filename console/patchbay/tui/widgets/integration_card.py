"""One card on the Integrations screen: a live integration or a provider still available."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from .. import records

STATE_STYLES = {
    "available": "dim",
    "connected": "cyan",
    "syncing": "yellow",
    "active": "green",
    "paused": "magenta",
    "error": "bold red",
}


def when(timestamp: str | None) -> str:
    """2026-11-22T10:00:05.123Z -> 2026-11-22 10:00:05 (what fits on a card)."""
    return (timestamp or "")[:19].replace("T", " ")


class IntegrationCard(Static, can_focus=True):
    DEFAULT_CSS = """
    IntegrationCard { width: 1fr; height: 6; border: round $secondary; padding: 0 1;
                      text-wrap: nowrap; text-overflow: ellipsis; }
    IntegrationCard.-error { border: round $error; text-wrap: wrap; }
    IntegrationCard.-available { border: dashed $panel-lighten-2; }
    IntegrationCard:focus { border: double $accent; }
    """

    def __init__(self, card: records.IntegrationCard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.card = card

    def on_mount(self) -> None:
        self.show(self.card)

    def show(self, card: records.IntegrationCard) -> None:
        """Four lines, each cut with … rather than wrapped: state and store, account,
        and the last activity and when; or, in error, the reason (wrapped: it is what
        matters then)."""
        self.card = card
        self.set_class(card.state == "error", "-error")
        self.set_class(card.available, "-available")
        text = Text()
        if card.available:
            self.border_title = card.title or card.provider
            text.append(card.state, STATE_STYLES["available"])
            text.append("\n\na: connect")
            self.update(text)
            return
        self.border_title = f"#{card.id} {card.provider}"
        text.append(card.state, STATE_STYLES.get(card.state, ""))
        text.append(f" · {card.store or '?'}\n")
        text.append(f"{card.account or '-'}\n", "dim")
        if card.reason:
            text.append(card.reason, "red")
        else:
            text.append(f"{card.last_activity or '-'}\n{when(card.last_activity_at)}", "dim")
        self.update(text)

    @property
    def key(self) -> str:
        return self.card.key
