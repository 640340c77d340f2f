"""The daemon's status at a glance, or why we are not connected."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...render import duration
from .. import records


def uptime(seconds: float) -> str:
    """To the minute: a line that changed every poll would be repainted every poll."""
    return duration(seconds - seconds % 60) if seconds >= 60 else "<1m"


def cluster_line(text: Text, daemons: tuple[records.DaemonSummary, ...]) -> None:
    """Several daemons on one PostgreSQL: how many beat, and what this one holds; a
    daemon that stopped beating shows in red."""
    here = next((d for d in daemons if d.here), None)
    silent = [d for d in daemons if not d.alive]
    text.append(f"cluster: {len(daemons) - len(silent)} daemons")
    if silent:
        text.append(f", {len(silent)} silent", style="bold red")
    holds = ", ".join(here.holds) if here and here.holds else "nothing"
    text.append(f"; this one holds {holds}\n")


class StatusPanel(Static):
    DEFAULT_CSS = """
    StatusPanel { height: auto; padding: 0 1; border: round $primary; }
    StatusPanel.-disconnected { border: round $error; }
    """

    def show_status(self, status: records.StatusSummary) -> None:
        self.remove_class("-disconnected")
        self.border_title = "patchbayd — connected"
        stores = ", ".join(f"{s.name} ({s.kind})" for s in status.stores)
        text = Text()
        text.append(
            status.state, style="bold green" if status.state == "running" else "bold yellow"
        )
        text.append(
            f"  v{status.version}  up {uptime(status.uptime_seconds)}"
            f"  pid {status.pid if status.pid is not None else '?'}\n"
        )
        text.append(f"listen {status.listen}   schema {status.schema_version or '?'}")
        if status.connections_open is not None and status.connections_max is not None:
            text.append(f"   public connections {status.connections_open}/{status.connections_max}")
        text.append("\n")
        text.append(f"stores: {stores or 'none'}\n")
        if status.database_kind == "postgresql":
            cluster_line(text, status.daemons)
        for reason in status.degraded:  # a failure looks like one
            text.append("degraded: ", style="bold red")
            text.append(f"{reason}\n", style="red")
        text.append(f"inbox {status.inbox_pending} pending")
        if status.inbox_quarantined:
            text.append(f"  {status.inbox_quarantined} quarantined (n to see)", style="bold red")
        if status.outbox_open:
            text.append(f"   outbox {status.outbox_open} open", style="yellow")
        self.update(text)

    def show_disconnected(self, socket: str, reason: str) -> None:
        self.add_class("-disconnected")
        self.border_title = "patchbayd — disconnected"
        text = Text()
        text.append("disconnected", style="bold red")
        text.append(f" — reconnecting automatically\n{socket}\n{reason}")
        self.update(text)
