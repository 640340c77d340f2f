"""One sync on the Sync screen: a progress bar with the rate and the time left while it
runs, the last run's report after.

The daemon reports how far a run is (rows scanned of the total), not how fast it goes
through them: the card measures that itself from what it is shown, feed after feed
(`render.observe`, `render.pace`), on the console's own clock."""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from ...render import Sample, counts_line, observe, pace, pace_text
from .. import records

monotonic = time.monotonic  # the samples' clock (a test sets its own)


class SyncCard(Vertical, can_focus=True):
    DEFAULT_CSS = """
    SyncCard { height: auto; border: round $secondary; padding: 0 1; }
    SyncCard:focus { border: double $accent; }
    SyncCard.-error { border: round $error; }
    SyncCard Horizontal { height: auto; }
    SyncCard ProgressBar { height: 1; width: auto; margin-right: 2; }
    SyncCard Static { height: auto; }
    SyncCard .pace { width: 1fr; }
    """

    def __init__(self, sync: records.SyncRow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sync = sync
        self._run: int | None = None  # the run the samples are of
        self._samples: tuple[Sample, ...] = ()

    def compose(self) -> ComposeResult:
        with Horizontal():
            # a total from the start: an indeterminate bar animates (and repaints) even hidden
            yield ProgressBar(total=1, show_eta=False)
            yield Static("", classes="pace", markup=False)
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
        shown = self.query_one(".pace", Static)
        running = sync.running and run is not None and run.state == "running"
        bar.display = shown.display = running
        if running and run is not None:
            total = counts.get("total")
            scanned = counts.get("scanned")
            total = total if isinstance(total, int) else None
            scanned = scanned if isinstance(scanned, int) else 0
            bar.update(total=max(1, total or 1), progress=scanned)
            shown.update(self._pace(run.id, scanned, total))
        else:
            self._run, self._samples = None, ()
        report = sync.state + (f" — {sync.reason}" if sync.reason else "") + "\n"
        if run is not None:
            report += (
                f"{'running' if running else 'last run'} #{run.id} {run.state}: "
                f"{counts_line(dict(counts))}"
            )
            if run.error:
                report += f"\nerror: {run.error}"
        self.query_one(".report", Static).update(report)

    def _pace(self, run_id: int, scanned: int, total: int | None) -> str:
        """Rows done of the total, rows/s and ETA, over what this card has seen of the run."""
        if run_id != self._run:
            self._run, self._samples = run_id, ()
        self._samples = observe(self._samples, monotonic(), scanned)
        of = f"{scanned:,}/{total:,}" if total is not None else f"{scanned:,}"
        return f"{of} rows · {pace_text(pace(self._samples, total))}"
