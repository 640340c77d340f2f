"""The connect dialog: the provider's options, a masked key, and the verification result
shown in place (a wrong key keeps the dialog open with the provider's reason).

One line per field (its name, then the box), so that the fields, the result and the
buttons fit in 24 lines; with more fields than fit, they scroll and the result and the
buttons stay in sight."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from .. import records
from .form import FormScreen


class ConnectScreen(FormScreen[records.IntegrationCard]):
    DEFAULT_CSS = """
    ConnectScreen { align: center middle; }
    ConnectScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                               border: thick $accent; padding: 0 1; background: $surface; }
    ConnectScreen #fields { height: auto; max-height: 70vh; }
    ConnectScreen .field { height: 1; margin-bottom: 1; }
    ConnectScreen .field Label { width: 20; }
    ConnectScreen .field Input { width: 1fr; }
    ConnectScreen #buttons { height: auto; margin-top: 1; }
    ConnectScreen #buttons Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, spec: records.ProviderSpec, stores: list[str]) -> None:
        super().__init__()
        self.spec = spec
        self.stores = stores

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"connect {self.spec.title}"
            with VerticalScroll(id="fields"):
                with Horizontal(classes="field"):
                    yield Label("store")
                    yield Input(
                        value=self.stores[0] if self.stores else "",
                        id="store",
                        placeholder=", ".join(self.stores),
                        compact=True,
                    )
                with Horizontal(classes="field"):
                    yield Label(self.spec.credential_label, markup=False)
                    yield Input(
                        password=True, id="secret", placeholder="hidden as you type", compact=True
                    )
                for option in self.spec.options:
                    with Horizontal(classes="field"):
                        yield Label(
                            option.name.replace("_", " ") + (" *" if option.required else ""),
                            markup=False,
                        )
                        yield Input(
                            value=option.default or "",
                            id=f"opt-{option.name}",
                            placeholder=option.help,
                            compact=True,
                        )
            yield Static(
                "* required · enter or the button verifies the key with the provider",
                id="result",
                markup=False,
            )
            with Horizontal(id="buttons"):
                yield Button("Verify and connect", id="connect", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

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
        settings = {
            o.name: self.query_one(f"#opt-{o.name}", Input).value.strip() for o in self.spec.options
        }
        body = {
            "provider": self.spec.name,
            "store": self.query_one("#store", Input).value,
            "secret": self.query_one("#secret", Input).value,
            "settings": {k: v for k, v in settings.items() if v},
        }
        self.show_result("verifying with the provider …", error=False)
        self.send("/v1/integrations", body, records.integration_from_json, "connect")
