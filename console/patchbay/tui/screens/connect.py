"""The connect dialog: the provider's options, a masked key, and the verification result
shown in place (a wrong key keeps the dialog open with the provider's reason)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...client import ApiFailure, ControlClient, DaemonUnreachable


class ConnectScreen(ModalScreen[dict[str, Any] | None]):
    DEFAULT_CSS = """
    ConnectScreen { align: center middle; }
    ConnectScreen > VerticalScroll { width: 72; max-height: 22; border: thick $accent;
                                     padding: 0 1; background: $surface; }
    ConnectScreen Input { margin-bottom: 0; }
    ConnectScreen #result { height: auto; margin: 1 0 0 0; }
    ConnectScreen #result.-error { color: $error; }
    ConnectScreen Horizontal { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, socket: Path, spec: dict[str, Any], stores: list[str]) -> None:
        super().__init__()
        self.socket = socket
        self.spec = spec
        self.stores = stores

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"connect {self.spec['title']}"
            yield Label("store")
            yield Input(value=self.stores[0] if self.stores else "", id="store",
                        placeholder=", ".join(self.stores))
            yield Label(self.spec["secret"])
            yield Input(password=True, id="secret", placeholder="hidden as you type")
            for option in self.spec["options"]:
                required = " (required)" if option["required"] else ""
                yield Label(f"{option['name'].replace('_', ' ')}{required}")
                yield Input(value=option["default"] or "", id=f"opt-{option['name']}",
                            placeholder=option["help"])
            yield Static("", id="result")
            with Horizontal():
                yield Button("Verify and connect", id="connect", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self._submit()

    def _submit(self) -> None:
        settings = {o["name"]: self.query_one(f"#opt-{o['name']}", Input).value.strip()
                    for o in self.spec["options"]}
        body = {"provider": self.spec["name"], "store": self.query_one("#store", Input).value,
                "secret": self.query_one("#secret", Input).value,
                "settings": {k: v for k, v in settings.items() if v}}
        self._show("verifying with the provider …", error=False)
        self.query_one("#connect", Button).disabled = True
        self._connect(body)

    def _show(self, text: str, *, error: bool) -> None:
        result = self.query_one("#result", Static)
        result.set_class(error, "-error")
        result.update(text)

    @work(exclusive=True, group="connect")
    async def _connect(self, body: dict[str, Any]) -> None:
        try:
            async with ControlClient(self.socket, timeout=30) as client:
                created = await client.post("/v1/integrations", body)
        except (ApiFailure, DaemonUnreachable) as exc:
            self._show(str(exc), error=True)
            self.query_one("#connect", Button).disabled = False
            return
        self.dismiss(created)
