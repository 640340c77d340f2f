"""The daemon's status at a glance, or why we are not connected."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from ...render import duration


class StatusPanel(Static):
    DEFAULT_CSS = """
    StatusPanel { height: auto; padding: 0 1; border: round $primary; }
    StatusPanel.-disconnected { border: round $error; }
    """

    def show_status(self, status: dict[str, Any]) -> None:
        self.remove_class("-disconnected")
        self.border_title = "patchbayd — connected"
        stores = ", ".join(f"{s['name']} ({s['kind']})" for s in status.get("stores", []))
        text = Text()
        text.append(f"{status['state']}", style="bold green")
        text.append(f"  v{status['version']}  up {duration(status['uptime_seconds'])}"
                    f"  pid {status['pid']}\n")
        text.append(f"listen {status['listen']}   schema {status['schema_version']}\n")
        text.append(f"stores: {stores or 'none'}\n")
        counts = status.get("counts", {})
        text.append(f"inbox {counts.get('inbox_pending', 0)} pending")
        quarantined = counts.get("inbox_quarantined", 0)
        if quarantined:
            text.append(f"  {quarantined} quarantined (n to see)", style="bold red")
        if counts.get("outbox_open"):
            text.append(f"   outbox {counts['outbox_open']} open", style="yellow")
        connections = status.get("connections")
        if connections:
            text.append(f"   public connections {connections['open']}/{connections['max']}")
        self.update(text)

    def show_disconnected(self, socket: str, reason: str) -> None:
        self.add_class("-disconnected")
        self.border_title = "patchbayd — disconnected"
        text = Text()
        text.append("disconnected", style="bold red")
        text.append(f" — reconnecting automatically\n{socket}\n{reason}")
        self.update(text)
