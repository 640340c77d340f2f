"""One sync in full (enter on a card): its rules, its recent runs (started, how long,
state, counts) and the contacts whose last send failed, with the reason (they are
retried on every run). The highlighted row is shown whole below the tables; tab moves
between them. The app refreshes it every two seconds; esc goes back to the cards."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from ...render import ago, counts_line, duration, moment
from .. import records
from ..messages import Feed, SyncDetailUpdated
from .live import LiveScreen, footer
from .table_screen import NARROWEST, clip

REFRESH_SECONDS = 2.0
RUN_COLUMNS = ("run", "started UTC", "took", "state", "scanned", "sent", "failed", "filtered")
FAILURE_COLUMNS = ("contact", "reason", "tries", "at UTC")
STATE_STYLES = {"done": "green", "running": "cyan", "failed": "bold red", "stopped": "yellow"}


def short_time(timestamp: str | None) -> str:
    """ "2026-11-22T10:04:30Z" -> "11-22 10:04" (the daemon's UTC; the detail line has it
    whole): the history is recent, and 80 columns are few."""
    found = moment(timestamp)
    return found.strftime("%m-%d %H:%M") if found else (timestamp or "-")


def took(entry: records.SyncHistoryRun) -> str:
    """How long a finished run took, from the daemon's own two times; "…" while it runs."""
    start, end = moment(entry.started_at), moment(entry.run.finished_at)
    if start is None or end is None:
        return "…" if entry.run.state == "running" else "-"
    return duration(max(0.0, (end - start).total_seconds()))


def count(counts: dict[str, object], key: str) -> str:
    value = counts.get(key)
    return str(value) if isinstance(value, int) else "-"


def rules_line(detail: records.SyncDetail) -> str:
    mapping = ", ".join(f"{k}={v}" for k, v in detail.mapping.items()) or "default"
    parts = [
        f"mapping {mapping}",
        f"tags {','.join(detail.tags) or '-'}",
        f"opted out too: {'yes' if detail.export_opted_out else 'no'}",
    ]
    if detail.acquired_since:
        parts.append(f"acquired since {detail.acquired_since}")
    if detail.acquired_until:
        parts.append(f"until {detail.acquired_until}")
    return " · ".join(parts)


class SyncDetailScreen(LiveScreen):
    DEFAULT_CSS = """
    SyncDetailScreen #summary { height: auto; max-height: 3; padding: 0 1; }
    SyncDetailScreen DataTable { height: 1fr; border: round $primary; }
    SyncDetailScreen DataTable:focus { border: round $accent; }
    SyncDetailScreen #detail { height: auto; max-height: 3; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, sync: records.SyncRow) -> None:
        super().__init__()
        self.sync = sync
        self.shown: records.SyncDetail | None = None
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the daemon …", id="message", markup=False)
        yield Static("", id="summary", markup=False)
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="failures", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)
        yield Static("", id="feedback")
        yield footer()

    def feed(self) -> Feed:
        return Feed(f"/v1/syncs/{self.sync.id}", SyncDetailUpdated.from_json, every=REFRESH_SECONDS)

    def on_mount(self) -> None:
        self.sub_title = f"sync {self.sync.id}"
        runs, failures = self._tables()
        runs.add_columns(*RUN_COLUMNS)
        failures.add_columns(*FAILURE_COLUMNS)
        runs.border_title = "runs, newest first"
        failures.border_title = "failed contacts: retried on every run"
        self._describe(self.sync)

    def _tables(self) -> tuple[DataTable[str | Text], DataTable[str | Text]]:
        return self.query_one("#runs", DataTable), self.query_one("#failures", DataTable)

    def _describe(self, sync: records.SyncRow) -> None:
        destination = f" → {sync.list_name}" if sync.list_name else ""
        self.say(
            f"sync {sync.id} · integration {sync.integration} · {sync.segment}{destination}"
            f" · {sync.mode} · tab next table · esc back"
        )

    def on_sync_detail_updated(self, message: SyncDetailUpdated) -> None:
        if message.detail != self.shown:
            self._draw(message.detail)

    def on_resize(self) -> None:
        if self.shown is not None and self.size.width != self._width:
            self._draw(self.shown)  # the cells cut to the new width

    def _draw(self, detail: records.SyncDetail) -> None:
        self.shown, self._width = detail, self.size.width
        self.sync = detail.sync
        self._describe(detail.sync)
        state = Text(detail.sync.state, style="bold red" if detail.sync.state == "error" else "")
        if detail.sync.reason:
            state.append(f" — {detail.sync.reason}")
        state.append(f" · {detail.sent} at the destination")
        if detail.created_at:
            state.append(f" · created {ago(detail.created_at, self.hub.now())}")
        state.append("\n" + rules_line(detail), style="dim")
        self.query_one("#summary", Static).update(state)
        runs, failures = self._tables()
        self._fill(runs, [self._run_cells(r) for r in detail.runs])
        self._fill(failures, [self._failure_cells(f) for f in detail.failures])
        runs.border_subtitle = f"{len(detail.runs)} shown"
        failures.border_subtitle = f"{len(detail.failures)} latest" if detail.failures else "none"
        self._show_highlighted()

    @staticmethod
    def _fill(table: DataTable[str | Text], rows: Sequence[Sequence[str | Text]]) -> None:
        """The rows, the cursor where it was (the feed redraws every two seconds)."""
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*row)
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))

    def _clip(self, value: str, width: int) -> Text:
        return clip(value, width * max(NARROWEST, self.size.width) // NARROWEST)

    @staticmethod
    def _run_cells(entry: records.SyncHistoryRun) -> tuple[str | Text, ...]:
        run = entry.run
        counts = dict(run.counts)
        filtered = counts.get("filtered")
        reasons = filtered.values() if isinstance(filtered, dict) else ()
        return (
            f"#{run.id}",
            short_time(entry.started_at),
            took(entry),
            Text(run.state, style=STATE_STYLES.get(run.state, "")),
            count(counts, "scanned"),
            count(counts, "sent"),
            Text(count(counts, "failed"), style="bold red" if counts.get("failed") else ""),
            str(sum(v for v in reasons if isinstance(v, int))),
        )

    def _failure_cells(self, failure: records.SyncFailure) -> tuple[str | Text, ...]:
        return (
            self._clip(failure.email or failure.customer, 26),
            self._clip(failure.reason, 26),
            str(failure.attempts),
            short_time(failure.at),
        )

    def on_data_table_row_highlighted(self) -> None:
        self._show_highlighted()

    def on_descendant_focus(self) -> None:
        self._show_highlighted()

    def _show_highlighted(self) -> None:
        """The highlighted row of the table in focus (the runs' when neither is), whole."""
        detail, box = self.shown, self.query_one("#detail", Static)
        if detail is None:
            return
        runs, failures = self._tables()
        if self.focused is failures:
            index = failures.cursor_row
            if 0 <= index < len(detail.failures):
                f = detail.failures[index]
                text = Text(f"{f.email or '-'} (customer {f.customer}), {f.attempts} tries, ")
                text.append(f"last at {f.at or '-'}\n")
                text.append(f.reason, style="bold red")
                box.update(text)
                return
        index = runs.cursor_row
        if 0 <= index < len(detail.runs):
            entry = detail.runs[index]
            run = entry.run
            text = Text(
                f"run #{run.id} ({'full' if entry.full else 'changes only'}) {run.state}, "
                f"started {entry.started_at or '-'}: {counts_line(dict(run.counts))}"
            )
            if run.error:
                text.append(f"\nerror: {run.error}", style="bold red")
            box.update(text)
            return
        box.update(Text("no runs yet" if not detail.runs else "", style="dim"))
