"""One sync on the Sync screen: a progress bar while it runs, the last run's report after."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from ...render import counts_line


class SyncCard(Vertical, can_focus=True):
    DEFAULT_CSS = """
    SyncCard { height: auto; border: round $secondary; padding: 0 1; }
    SyncCard:focus { border: double $accent; }
    SyncCard.-error { border: round $error; }
    SyncCard ProgressBar { height: 1; }
    SyncCard Static { height: auto; }
    """

    def __init__(self, sync: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sync = sync

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False)
        yield Static("", classes="report")

    def on_mount(self) -> None:
        self.show(self.sync)

    def show(self, sync: dict[str, Any]) -> None:
        self.sync = sync
        self.border_title = (f"sync {sync['id']} · integration {sync['integration']} · "
                             f"{sync['segment']}{' → ' + sync['list'] if sync.get('list') else ''}"
                             f" · {sync['mode']}")
        self.set_class(sync["state"] == "error", "-error")
        run = sync.get("last_run") or {}
        counts = run.get("counts") or {}
        bar = self.query_one(ProgressBar)
        running = bool(sync.get("running")) and run.get("state") == "running"
        bar.display = running
        if running:
            bar.update(total=max(1, counts.get("total") or 1), progress=counts.get("scanned", 0))
        state = sync["state"] + (f" — {sync['reason']}" if sync.get("reason") else "")
        report = f"{state}\n"
        if run:
            report += (f"{'running' if running else 'last run'} #{run['id']} {run['state']}: "
                       f"{counts_line(counts)}")
        self.query_one(".report", Static).update(report)
