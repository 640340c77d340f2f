"""One sync on the Sync screen: a progress bar while it runs, the last run's report after."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from ...render import counts_line
from .. import records


class SyncCard(Vertical, can_focus=True):
    DEFAULT_CSS = """
    SyncCard { height: auto; border: round $secondary; padding: 0 1; }
    SyncCard:focus { border: double $accent; }
    SyncCard.-error { border: round $error; }
    SyncCard ProgressBar { height: 1; }
    SyncCard Static { height: auto; }
    """

    def __init__(self, sync: records.SyncRow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sync = sync

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False)
        yield Static("", classes="report", markup=False)

    def on_mount(self) -> None:
        self.show(self.sync)

    def show(self, sync: records.SyncRow) -> None:
        self.sync = sync
        destination = f" → {sync.list_name}" if sync.list_name else ""
        self.border_title = (
            f"sync {sync.id} · integration {sync.integration} · "
            f"{sync.segment}{destination} · {sync.mode}"
        )
        self.set_class(sync.state == "error", "-error")
        run = sync.last_run
        counts = run.counts if run else records.EMPTY
        bar = self.query_one(ProgressBar)
        running = sync.running and run is not None and run.state == "running"
        bar.display = running
        if running:
            total = counts.get("total")
            scanned = counts.get("scanned")
            bar.update(
                total=max(1, total if isinstance(total, int) else 1),
                progress=scanned if isinstance(scanned, int) else 0,
            )
        report = sync.state + (f" — {sync.reason}" if sync.reason else "") + "\n"
        if run is not None:
            report += (
                f"{'running' if running else 'last run'} #{run.id} {run.state}: "
                f"{counts_line(dict(counts))}"
            )
            if run.error:
                report += f"\nerror: {run.error}"
        self.query_one(".report", Static).update(report)
