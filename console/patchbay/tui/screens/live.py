"""What the screens fed by the app share: `feed()` says what the app's worker should GET
for them; they render the typed messages it posts. `#message` says what is shown and
which keys act on it; `#feedback` the outcome of the last action (it stays until the
next), or in red why the list may be stale (a failed read, the daemon gone)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..messages import Disconnected, Feed, FeedFailed, FeedUpdate

if TYPE_CHECKING:
    from ..app import PatchbayApp


def footer() -> Footer:
    """The keys line every screen ends with: compact, and without the command palette's
    entry, so that the app's keys fit in 80 columns (ctrl+p still opens it; ? says so)."""
    return Footer(compact=True, show_command_palette=False)


def hub(node: DOMNode) -> PatchbayApp:
    """The app, which owns the connection: `request()` and `refresh_feed()`."""
    return cast("PatchbayApp", node.app)


class LiveScreen(Screen[None]):
    DEFAULT_CSS = """
    LiveScreen #message, LiveScreen #feedback { height: auto; padding: 0 1; }
    LiveScreen #message { color: $text-muted; }
    """

    _stale = False  # #feedback says why what is shown may be out of date

    def feed(self) -> Feed | None:
        """What to GET for this screen while it is in front; None: nothing."""
        return None

    @property
    def hub(self) -> PatchbayApp:
        return hub(self)

    def say(self, text: str | Text) -> None:
        """What is shown and the keys (markup in a str is the screen's own, never data)."""
        self.query_one("#message", Static).update(text)

    def tell(self, text: Text) -> None:
        """The outcome of an action, until the next one."""
        self._stale = False
        self.query_one("#feedback", Static).update(text)

    def on_screen_resume(self) -> None:
        if not self.hub.connected:  # the app tells screens when it loses the daemon,
            self._disconnected(self.hub.disconnect_reason)  # not again on each retry
        self.hub.refresh_feed()

    def on_disconnected(self, message: Disconnected) -> None:
        self._disconnected(message.reason)

    def _disconnected(self, reason: str) -> None:
        self.tell(Text(f"disconnected: {reason} — shown as last read", style="bold red"))
        self._stale = True

    def on_feed_failed(self, message: FeedFailed) -> None:
        self.tell(Text(message.reason, style="bold red"))
        self._stale = True

    @on(FeedUpdate)
    def _fresh_again(self) -> None:
        if self._stale:
            self.tell(Text(""))
